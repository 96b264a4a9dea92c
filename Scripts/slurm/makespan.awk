# The wall time of a reproduction on `slots` parallel task slots, for `make plan NODES=…`.
# Input: one line per pretraining run, "<name> <pretrain minutes> <evaluation minutes>".
# A list schedule as Slurm runs the submission: pretraining tasks first (longest first, as
# submit.sh orders them), each run's evaluations once its pretraining has ended, every task on
# the slot that frees first; then the tables (a minute). Prints the minutes.
# Variables: slots (integer >= 1), probes (evaluation tasks per run).
{ name[NR] = $1; pre[NR] = $2; ev[NR] = $3 }
END {
    n = NR
    for (i = 1; i <= n; i++) order[i] = i
    for (i = 2; i <= n; i++)       # insertion sort, longest pretraining first (stable)
        for (j = i; j > 1 && pre[order[j]] > pre[order[j - 1]]; j--) { t = order[j]; order[j] = order[j - 1]; order[j - 1] = t }
    for (s = 1; s <= slots; s++) free[s] = 0
    for (k = 1; k <= n; k++) {
        r = order[k]; s = first_free()
        free[s] += pre[r]; ready[r] = free[s]
    }
    # evaluations in the order they become ready
    m = 0
    for (k = 1; k <= n; k++) for (p = 1; p <= probes; p++) { m++; eready[m] = ready[order[k]]; edur[m] = ev[order[k]] / probes }
    for (i = 2; i <= m; i++)
        for (j = i; j > 1 && eready[j] < eready[j - 1]; j--) {
            t = eready[j]; eready[j] = eready[j - 1]; eready[j - 1] = t
            t = edur[j]; edur[j] = edur[j - 1]; edur[j - 1] = t }
    end = 0
    for (k = 1; k <= m; k++) {
        s = first_free(); start = free[s] > eready[k] ? free[s] : eready[k]
        free[s] = start + edur[k]; if (free[s] > end) end = free[s]
    }
    for (k = 1; k <= n; k++) if (ready[k] > end) end = ready[k]
    printf "%d\n", end + 1
}
function first_free(   s, best) {
    best = 1
    for (s = 2; s <= slots; s++) if (free[s] < free[best]) best = s
    return best
}
