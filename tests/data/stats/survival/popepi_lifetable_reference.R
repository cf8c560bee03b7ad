# Life-table relative/net survival with popEpi (survtab, surv.method = "lifetable") on relsurv's rdata with
# the Slovene rate table slopop expanded to single calendar years, all times in decimal years on one clock
# (year = 1970 + days / 365.241; fot = days / 365.241; age = age in years), so that popEpi and oncoreg use
# identical cells. Pohar Perme uses popEpi's default weight style "delta". Run: Rscript popepi_lifetable_reference.R  (writes popepi_lifetable_reference.csv)
suppressMessages({library(relsurv); library(popEpi); library(Epi)})
data(rdata); data(slopop)
d <- data.frame(id = seq_len(nrow(rdata)), sex = rdata$sex, status = rdata$cens,
                dg = 1970 + (as.numeric(rdata$year) - 3653) / 365.241)  # rdata$year: days since 1960-01-01
d$bi <- d$dg - rdata$age
d$ex <- d$dg + rdata$time / 365.241
yrs <- attr(slopop, "cutpoints")[[2]]; ycut <- as.numeric(format(as.Date(as.numeric(yrs), origin = "1960-01-01"), "%Y"))
pop <- expand.grid(agegroup = 0:103, year = 1975:2010, sex = 1:2)
cell <- findInterval(pop$year, ycut)
pop$haz <- slopop[cbind(pop$agegroup + 1, cell, pop$sex)] * 365.241
names(pop)[1:2] <- c("age", "per")
out <- list()
for (m in c("e2", "pp")) {
  for (br in list(seq(0, 10, 1), seq(0, 10, 1/12))) {
    # rows split at the survival breaks and at every rate-table cell (integer age and calendar year); follow-up
    # is cropped at 10 years, which popEpi counts as censoring at 10 (oncoreg's test crops the same way)
    x <- lexpand(d, birth = bi, entry = dg, exit = ex, status = status, id = id,
                 breaks = list(fot = br, per = 1975:2010, age = 0:120))
    st <- survtab(fot ~ 1, data = x, surv.type = "surv.rel", relsurv.method = m,
                  surv.method = "lifetable", breaks = list(fot = br), pophaz = pop)
    v <- if (m == "e2") c("r.e2", "SE.r.e2", "r.e2.lo", "r.e2.hi") else c("r.pp", "SE.r.pp", "r.pp.lo", "r.pp.hi")
    out[[length(out) + 1]] <- data.frame(method = m, step = br[2], time = st$Tstop, n = st$n, d = st$d,
      estimate = st[[v[1]]], std_err = st[[v[2]]], lower = st[[v[3]]], upper = st[[v[4]]])
  }
}
options(digits = 15)
write.csv(do.call(rbind, out), "popepi_lifetable_reference.csv", row.names = FALSE)
