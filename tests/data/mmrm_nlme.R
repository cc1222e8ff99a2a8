# The MMRM oracle: nlme::gls with an unstructured covariance across visits, fitted by REML.
#
#   Rscript tests/data/mmrm_nlme.R tests/data/mmrm_example.csv
#
# Reads the long CSV written by make_mmrm_example.py (id, arm, baseline, visit, visit_index, change; NA for
# a missed visit), fits
#   change ~ arm * visit + baseline * visit, corSymm(~ visit_index | id), varIdent(~ 1 | visit), REML
# and prints, as CSV, the least-squares means by visit and arm at the mean baseline of the analysed
# patients (each patient counted once) and the differences drug - placebo, computed by hand from coef()
# and vcov() with a contrast matrix (emmeans is not needed). Degrees of freedom are nlme's own for
# gls: observations minus coefficients. The optimiser's tolerances are tightened so that the numbers
# are converged well past the digits they are compared to.
suppressPackageStartupMessages(library(nlme))

args <- commandArgs(trailingOnly = TRUE)
path <- if (length(args) >= 1) args[1] else "tests/data/mmrm_example.csv"
first <- if (length(args) >= 2) args[2] else "drug"
second <- if (length(args) >= 3) args[3] else "placebo"

d <- read.csv(path)
d <- d[!is.na(d$change), ]
d$arm <- factor(d$arm)
d$visit <- factor(d$visit)

fit <- gls(change ~ arm * visit + baseline * visit,
           data = d,
           correlation = corSymm(form = ~ visit_index | id),
           weights = varIdent(form = ~ 1 | visit),
           method = "REML", na.action = na.omit,
           control = glsControl(opt = "optim", msTol = 1e-15, tolerance = 1e-12, msMaxIter = 1000, maxIter = 1000))

at <- mean(d$baseline[!duplicated(d$id)])
beta <- coef(fit)
V <- vcov(fit)
df <- fit$dims$N - fit$dims$p
rhs <- delete.response(terms(fit))

row_for <- function(a, v) {
  nd <- data.frame(arm = factor(a, levels = levels(d$arm)),
                   visit = factor(v, levels = levels(d$visit)),
                   baseline = at)
  model.matrix(rhs, nd)
}

out <- NULL
for (v in levels(d$visit)) {
  L1 <- row_for(first, v)
  L2 <- row_for(second, v)
  for (L in list(list(first, L1), list(second, L2), list("difference", L1 - L2))) {
    est <- drop(L[[2]] %*% beta)
    se <- sqrt(drop(L[[2]] %*% V %*% t(L[[2]])))
    p <- 2 * pt(-abs(est / se), df)
    out <- rbind(out, data.frame(visit = v, term = L[[1]], estimate = est, se = se, df = df, p_value = p))
  }
}
write.csv(out, stdout(), row.names = FALSE, quote = FALSE)
cat(sprintf("# R %s, nlme %s, REML log-likelihood %.10f, mean baseline %.10f\n",
            getRversion(), packageVersion("nlme"), fit$logLik, at))
