#include <hdf5.h>
/* HDF5's type and property-list "constants" are macros that call H5open(); Swift cannot
   import them, so each is wrapped in a static inline function. */
static inline hid_t h5_native_uint8(void) { return H5T_NATIVE_UINT8; }
static inline hid_t h5_native_int32(void) { return H5T_NATIVE_INT32; }
static inline hid_t h5_native_int64(void) { return H5T_NATIVE_INT64; }
static inline hid_t h5_native_uint64(void) { return H5T_NATIVE_UINT64; }
static inline hid_t h5_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t h5_native_double(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t h5_c_s1(void) { return H5T_C_S1; }
static inline hid_t h5p_dataset_create(void) { return H5P_DATASET_CREATE; }
static inline hid_t h5p_file_access(void) { return H5P_FILE_ACCESS; }
static inline hid_t h5p_default(void) { return H5P_DEFAULT; }
static inline hid_t h5s_all(void) { return H5S_ALL; }
static inline unsigned h5f_acc_trunc(void) { return H5F_ACC_TRUNC; }
static inline unsigned h5f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline unsigned h5f_acc_rdwr(void) { return H5F_ACC_RDWR; }
static inline unsigned h5f_acc_excl(void) { return H5F_ACC_EXCL; }
/* Silences HDF5's automatic error stack printing; callers report errors themselves. */
static inline void h5_silence_errors(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
/* Added for HDF5Kit: link-creation property lists (intermediate groups) and string types. */
static inline hid_t h5p_link_create(void) { return H5P_LINK_CREATE; }
static inline hid_t h5p_dataset_xfer(void) { return H5P_DATASET_XFER; }
