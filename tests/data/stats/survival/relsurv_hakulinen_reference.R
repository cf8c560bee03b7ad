# Hakulinen and observed (Kaplan-Meier) on relsurv's rdata/slopop, complementing
# /work/shared/conformance/relsurv_rdata_reference.csv. Run: Rscript relsurv_hakulinen_reference.R
suppressMessages({library(relsurv)})
data(rdata); data(slopop)
tt <- c(0.5, 1, 2, 3, 5, 10) * 365.241
out <- list()
add <- function(s, method) {
  st <- if (is.null(s$strata)) rep("all", length(s$time)) else as.character(s$strata)
  data.frame(method = method, stratum = st, time_days = s$time, surv = s$surv, std_err = s$std.err,
             lower = s$lower, upper = s$upper, n_risk = s$n.risk)
}
for (f in list(Surv(time, cens) ~ 1, Surv(time, cens) ~ sex)) {
  fit <- rs.surv(f, rmap = list(age = age * 365.241), ratetable = slopop, data = rdata, method = "hakulinen")
  out[[length(out) + 1]] <- add(summary(fit, times = tt, extend = TRUE), "hakulinen")
  km <- survfit(f, data = rdata)
  out[[length(out) + 1]] <- add(summary(km, times = tt, extend = TRUE), "observed")
}
options(digits = 15)
write.csv(do.call(rbind, out), "relsurv_hakulinen_reference.csv", row.names = FALSE)
