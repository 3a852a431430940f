rule explain:
    input:
        # with split.folds: the K fold models of {model}, explained as their mean logit,
        # on every part's windows
        model=fold_model_files("{model}") if FOLDS else rules.train.output.model,
        manifest=DATASET_MANIFEST,
        arrays=(
            fold_dataset_files(DATASET, FOLDS)[1:]
            if FOLDS
            else dataset_files(DATASET, manifest=False)
        ),
        signals=(
            (
                fold_dataset_files(
                    DATASET, FOLDS, keys=(SIGNAL_ARRAY,), manifest=False
                )
                if FOLDS
                else dataset_files(DATASET, keys=(SIGNAL_ARRAY,), manifest=False)
            )
            if SIGNALS
            else []
        ),
    output:
        f"{RESULTS}/interpretation/{{model}}/{{task_dir}}attributions.npz",
    log:
        f"{RESULTS}/logs/explain/{{task_dir}}{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/explain/{{task_dir}}{{model}}.tsv"
    wildcard_constraints:
        task_dir=TASK_DIR_PATTERN,
    conda:
        MODELS_ENV
    threads: 2
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        model_dir=lambda wildcards, input: [
            os.path.dirname(m)
            for m in ([input.model] if isinstance(input.model, str) else input.model)
        ],
        dataset=lambda wildcards, input: os.path.dirname(input.manifest),
        settings=INTERPRET,
        task=lambda wildcards: (
            f"--task {shlex.quote(wildcards.task_dir.rstrip('/'))}"
            if wildcards.task_dir
            else ""
        ),
    shell:
        "tfbinding explain --model {wildcards.model} --model-dir {params.model_dir:q}"
        " --dataset {params.dataset:q} --splits {params.settings[splits]}"
        " --max-windows {params.settings[max_windows]} --steps {params.settings[steps]}"
        " --ism-windows {params.settings[ism_windows]} --out {output:q} {params.task}"
        " --threads {threads} > {log:q} 2>&1"


rule discover_motifs:
    input:
        attributions=rules.explain.output[0],
        # the factor's matrix: reported aligned to its matches when TF-MoDISco finds nothing
        motif=config["motif"] or [],
    output:
        meme=f"{RESULTS}/interpretation/{{model}}/{{task_dir}}motifs.meme",
        matches=f"{RESULTS}/interpretation/{{model}}/{{task_dir}}jaspar_matches.tsv",
        patterns=f"{RESULTS}/interpretation/{{model}}/{{task_dir}}patterns.npz",
        html=report(
            f"{RESULTS}/interpretation/{{model}}/{{task_dir}}motifs.html",
            caption="../report/motifs.rst",
            category="Interpretation",
            subcategory="{model}",
        ),
    log:
        f"{RESULTS}/logs/discover_motifs/{{task_dir}}{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/discover_motifs/{{task_dir}}{{model}}.tsv"
    wildcard_constraints:
        task_dir=TASK_DIR_PATTERN,
    conda:
        MODELS_ENV
    threads: 2
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        out_dir=lambda wildcards, output: os.path.dirname(output.meme),
        settings=INTERPRET,
        motif=lambda wildcards, input: input.motif or "",
        # the motif's sha256: a matrix replaced with an older mtime still reruns
        content=content_id(config["motif"]) if config["motif"] else "",
    shell:
        "tfbinding discover-motifs --attributions {input.attributions:q} --out-dir {params.out_dir:q}"
        " --jaspar-release {params.settings[jaspar_release]} --motif={params.motif:q}"
        " --threads {threads} > {log:q} 2>&1"


rule score_variants:
    input:
        # with split.folds: the K fold models of {model}, averaged
        model=fold_model_files("{model}") if FOLDS else rules.train.output.model,
        vcf=VARIANTS["vcf"] or [],
        fasta=PREPARED_FASTA,
        fai=f"{PREPARED_FASTA}.fai",
        bigwigs=SIGNAL_BIGWIGS,
        peaks=PEAKS,
        motif=config["motif"] or [],
        # variants.patterns: the discovered patterns of {model} (explain and discover_motifs run)
        patterns=(
            expand(
                f"{RESULTS}/interpretation/{{{{model}}}}/{{task_dir}}patterns.npz",
                task_dir=TASK_DIRS,
            )
            if VARIANTS.get("patterns")
            else []
        ),
        # variants.sites: the predict step's sites (predict.model on predict.chromosomes)
        sites=(
            f"{PREDICTIONS}/{GENOME_STEM}{TASK_SUFFIXES[0]}.sites.narrowPeak"
            if VARIANTS.get("sites")
            else []
        ),
    output:
        tsv=report(
            f"{RESULTS}/variants/{{model}}.tsv",
            caption="../report/variants.rst",
            category="Variants",
        ),
        vcf=f"{RESULTS}/variants/{{model}}.vcf.gz",
        tbi=f"{RESULTS}/variants/{{model}}.vcf.gz.tbi",
        summary=f"{RESULTS}/variants/{{model}}.summary.json",
        logos=report(
            directory(f"{RESULTS}/variants/{{model}}_logos"),
            patterns=["{name}.png"],
            caption="../report/variants.rst",
            category="Variants",
            subcategory="contribution logos",
        ),
    log:
        f"{RESULTS}/logs/score_variants/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/score_variants/{{model}}.tsv"
    conda:
        MODELS_ENV
    threads: 2
    resources:
        mem_mb=lambda wildcards, input, attempt: chrom_mem_mb(
            wildcards, input, attempt
        )
        + 2000,
        runtime=120,
    params:
        model_dir=lambda wildcards, input: os.path.dirname(
            input.model if isinstance(input.model, str) else input.model[0]
        ),
        folds=lambda wildcards, input: (
            "--fold-model-dirs "
            + " ".join(shlex.quote(os.path.dirname(path)) for path in input.model)
            if FOLDS
            else ""
        ),
        mismatch="--allow-ref-mismatch" if VARIANTS["allow_ref_mismatch"] else "",
        strands="--both-strands" if VARIANTS["both_strands"] else "",
        settings=VARIANTS,
        motif=lambda wildcards, input: input.motif or "",
        aliases=aliases_json(),
        tasks=tasks_args(),
        signals=signals_args(),
        annotation=lambda wildcards, input: " ".join(
            (
                ["--patterns", *map(shlex.quote, input.patterns)]
                if input.patterns
                else []
            )
            + (
                [
                    "--sites",
                    shlex.quote(input.sites),
                    "--sites-chromosomes",
                    *map(shlex.quote, PREDICT["chromosomes"]),
                ]
                if input.sites
                else []
            )
        ),
        # the inputs' sha256: a VCF, bigWig, peaks or motif replaced with an older mtime still rescores
        content=[
            content_id(VARIANTS["vcf"]),
            *(content_id(path) for path in SIGNAL_BIGWIGS),
            content_id(PEAKS),
            content_id(config["motif"]) if config["motif"] else "",
        ],
    shell:
        "tfbinding score-variants --model {wildcards.model} --model-dir {params.model_dir:q}"
        " {params.folds} --vcf {input.vcf:q} --fasta {input.fasta:q} --out-tsv {output.tsv:q}"
        " --out-vcf {output.vcf:q} --out-summary {output.summary:q} {params.mismatch}"
        " {params.strands} --shifts {params.settings[shifts]}"
        " --null-size {params.settings[null_size]} --null-seed {params.settings[null_seed]}"
        " --peaks {input.peaks:q} --motif={params.motif:q} --top {params.settings[top]}"
        " --logo-dir {output.logos:q}"
        " --aliases {params.aliases:q} --threads {threads} {params.tasks} {params.signals}"
        " {params.annotation} > {log:q} 2>&1"


rule interpret:
    # `snakemake --cores 8 interpret`: the motifs of interpret.model, and the variant
    # effects of variants.model when variants.vcf is set
    input:
        expand(
            rules.discover_motifs.output, model=INTERPRET["model"], task_dir=TASK_DIRS
        ),
        expand(rules.score_variants.output, model=VARIANTS["model"])
        if VARIANTS["vcf"]
        else [],
        checked_interpret_models,
