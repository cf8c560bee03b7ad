# Reference rates for oncoreg.stats.rates, computed with popEpi and Epi (run: Rscript rates_reference.R OUT.csv).
# Data: nordpred's example (colon cancer, Norwegian men, 18 age groups x 8 five-year periods 1958-97) with the
# observed population as person-years; standard: World (Segi 1960) from popEpi's stdpop18.
suppressMessages({library(popEpi); library(Epi); library(data.table)})
args <- commandArgs(trailingOnly = TRUE)
here <- if (length(args) > 1) args[2] else "."
out <- if (length(args) > 0) args[1] else "rates_reference_r.csv"
cases <- fread(file.path(here, "nordpred_cases.csv"))
pop <- fread(file.path(here, "nordpred_population.csv"))
d <- merge(cases, pop, by = c("age_group", "period"))
setnames(d, "population", "pyrs")
d[, pyrs := as.numeric(pyrs)]
world <- as.numeric(stdpop18$world)
w <- world / sum(world)
adj <- rate(d, obs = cases, pyrs = pyrs, print = period, adjust = age_group, weights = w)
setDT(adj)
res <- adj[, .(period, cases, pyrs, crude_rate = rate * 1e5, crude_lower_lognormal = rate.lo * 1e5,
               crude_upper_lognormal = rate.hi * 1e5, asr = rate.adj * 1e5, asr_se = SE.rate.adj * 1e5,
               asr_lower_lognormal = rate.adj.lo * 1e5, asr_upper_lognormal = rate.adj.hi * 1e5)]
extra <- d[order(period, age_group), {
  # Fay & Feuer (1997) gamma interval written from the paper's formula with qgamma
  r <- cases / pyrs; dsr <- sum(w * r); v <- sum(w^2 * cases / pyrs^2); wm <- max(w / pyrs)
  lo <- qgamma(0.025, shape = dsr^2 / v, scale = v / dsr)
  hi <- qgamma(0.975, shape = (dsr + wm)^2 / (v + wm^2), scale = (v + wm^2) / (dsr + wm))
  # exact Poisson interval of the crude rate
  ex <- poisson.test(sum(cases), sum(pyrs))$conf.int
  # cumulative rate 0-74 (age groups 1-15, width 5) with Epi::ci.cum on a Poisson GLM
  sub <- .SD[age_group <= 15]
  fit <- glm(cases ~ factor(age_group) - 1 + offset(log(pyrs)), family = poisson, data = sub)
  cc <- ci.cum(fit, ctr.mat = diag(15), intl = rep(5, 15))
  last <- cc[nrow(cc), ]
  list(asr_lower_gamma = lo * 1e5, asr_upper_gamma = hi * 1e5,
       crude_lower_exact = ex[1] * 1e5, crude_upper_exact = ex[2] * 1e5,
       cum_rate = last[["Estimate"]] * 100, cum_rate_lower = last[["2.5%"]] * 100,
       cum_rate_upper = last[["97.5%"]] * 100,
       cum_risk = (1 - exp(-last[["Estimate"]])) * 100,
       cum_risk_lower = (1 - exp(-last[["2.5%"]])) * 100,
       cum_risk_upper = (1 - exp(-last[["97.5%"]])) * 100)
}, by = period]
res <- merge(res, extra, by = "period")
fwrite(res, out)
