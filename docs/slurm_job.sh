#!/bin/bash
# medpipe on Slurm: one MPI rank per task, every rank one data-parallel worker; a killed,
# cancelled or preempted job resumes from its last checkpoint when it runs again (requeue).
#   sbatch docs/slurm_job.sh event.json
# Adjust --nodes / --ntasks-per-node / --cpus-per-task to the cluster (docs/slurm.md); models_bucket
# must be on a filesystem every node sees.
#SBATCH --job-name=medpipe
#SBATCH --ntasks=2
#SBATCH --cpus-per-task=1
#SBATCH --requeue
#SBATCH --open-mode=append
set -euo pipefail
MEDPIPE=medpipe
EVENT="${1:?usage: sbatch slurm_job.sh EVENT.json}"
srun --mpi=pmix "$MEDPIPE" run "$EVENT"
