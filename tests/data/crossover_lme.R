# The crossover oracle: nlme::lme with a random patient intercept, fitted by REML.
#
#   Rscript tests/data/crossover_lme.R FILE.csv [lme|gls]
#
# Reads a long CSV (patient, sequence, period, treatment, change; one row per patient and period observed),
# fits
#   change ~ treatment + period + sequence, random = ~ 1 | patient, REML
# with the factors' levels in sorted order (treatment contrasts, as neuroplast.trials.crossover_analysis);
# with "gls", the same fixed effects with compound symmetry within a patient (corCompSymm, REML), whose
# correlation may be negative (then the patient variance below is negative); and prints, as CSV (term, estimate, se, df, p), every fixed effect with nlme's own degrees of freedom,
# then the two variances and R's and nlme's versions. The optimiser's tolerances are tightened so that the
# numbers are converged well past the digits they are compared to.
suppressPackageStartupMessages(library(nlme))

args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
d <- d[!is.na(d$change), ]
for (f in c("patient", "sequence", "period", "treatment")) d[[f]] <- factor(d[[f]])

ctl <- list(opt = "optim", msTol = 1e-15, tolerance = 1e-12, msMaxIter = 1000, maxIter = 1000)
if (length(args) >= 2 && args[2] == "gls") {
  fit <- gls(change ~ treatment + period + sequence, correlation = corCompSymm(form = ~ 1 | patient), data = d,
             method = "REML", control = do.call(glsControl, ctl))
  tt <- summary(fit)$tTable
  rho <- as.numeric(coef(fit$modelStruct$corStruct, unconstrained = FALSE))
  vc <- c(rho * fit$sigma^2, (1 - rho) * fit$sigma^2)
  df <- rep(NA, nrow(tt))
} else {
  fit <- lme(change ~ treatment + period + sequence, random = ~ 1 | patient, data = d, method = "REML",
             control = do.call(lmeControl, c(ctl, niterEM = 100)))
  tt <- summary(fit)$tTable
  vc <- as.numeric(VarCorr(fit)[, "Variance"])
  df <- tt[, "DF"]
}
cat("term,estimate,se,df,p\n")
for (i in seq_len(nrow(tt))) {
  cat(sprintf("%s,%.15g,%.15g,%.15g,%.15g\n", rownames(tt)[i], tt[i, "Value"], tt[i, "Std.Error"], df[i],
              tt[i, "p-value"]))
}
cat(sprintf("var_patient,%.15g,,,\n", vc[1]))
cat(sprintf("var_residual,%.15g,,,\n", vc[2]))
cat(sprintf("versions,R %s; nlme %s,,,\n", paste(R.version$major, R.version$minor, sep = "."),
            as.character(packageVersion("nlme"))))
