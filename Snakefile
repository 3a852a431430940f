# tfbinding: reference FASTA + ChIP-seq peaks -> one-hot .npy datasets.
# The rules live in workflow/rules/; this file only ties them together.
from snakemake.utils import min_version

min_version("8.0")


# The demo config is the default, and --config overrides layer on it; a --configfile
# replaces it rather than being merged into it, so that no demo key (a blacklist, say)
# leaks into another dataset.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/genome.smk"
include: "workflow/rules/dataset.smk"
include: "workflow/rules/models.smk"
include: "workflow/rules/predict.smk"
include: "workflow/rules/interpret.smk"
include: "workflow/rules/insilico.smk"
include: "workflow/rules/export.smk"


rule all:
    default_target: True
    input:
        final_targets(),
        # in-silico experiments of interpret.model, when insilico.default_target is true
        (
            expand(rules.insilico.output, model=INTERPRET["model"])
            if config["insilico"]["default_target"]
            else []
        ),
