# tfbinding: reference FASTA + ChIP-seq peaks -> one-hot .npy datasets.
# The rules live in workflow/rules/; this file only ties them together.
from snakemake.utils import min_version

min_version("8.0")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/genome.smk"
include: "workflow/rules/dataset.smk"


rule all:
    input:
        DATASET_FILES,
    default_target: True
