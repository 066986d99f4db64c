# R's survival on the benchmark's cohort: read the two CSVs, fit coxph (Efron), and Harrell's C
# of its linear predictor (concordance). Prints one JSON line of the internal timings.
#   Rscript survival_peer.R COVARIATES.csv LABELS.csv
suppressMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
t0 <- proc.time()[["elapsed"]]
x <- read.csv(args[1])
y <- read.csv(args[2])
d <- merge(x, y, by = "image")
t1 <- proc.time()[["elapsed"]]
covariates <- setdiff(names(x), "image")
f <- coxph(as.formula(paste("Surv(time, event) ~", paste(covariates, collapse = " + "))), data = d)
t2 <- proc.time()[["elapsed"]]
k <- concordance(Surv(d$time, d$event) ~ predict(f, type = "lp"), reverse = TRUE)
t3 <- proc.time()[["elapsed"]]
cat(sprintf('{"read_s": %.4f, "fit_s": %.4f, "concordance_s": %.4f, "c": %.10f, "iterations": %d, "survival": "%s", "r": "%s"}\n',
            t1 - t0, t2 - t1, t3 - t2, k$concordance, f$iter, packageVersion("survival"),
            paste(R.version$major, R.version$minor, sep = ".")))
