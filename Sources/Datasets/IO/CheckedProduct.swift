/// The product of sizes read from a file (IDX dimensions, ndarray shapes), or nil when a partial
/// product exceeds `limit` or overflows Int: a crafted header must be refused, not trap.
func checkedProduct(_ sizes: [Int], atMost limit: Int = .max) -> Int? {
    var product = 1
    for size in sizes {
        let (next, overflow) = product.multipliedReportingOverflow(by: size)
        guard !overflow, next <= limit else { return nil }
        product = next
    }
    return product
}
