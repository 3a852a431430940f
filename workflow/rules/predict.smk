rule calibrate:
    input:
        manifest=DATASET_MANIFEST,
        valid=dataset_files(DATASET, splits=("valid",), manifest=False),
        signals=(
            dataset_files(DATASET, ("valid",), (SIGNAL_ARRAY,), manifest=False)
            if SIGNALS
            else []
        ),
        model=rules.train.output.model,
    output:
        f"{RESULTS}/models/{{model}}/threshold.json",
    log:
        f"{RESULTS}/logs/calibrate/{{model}}.log",
    conda:
        MODELS_ENV
    threads: 2
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        dataset=lambda wildcards, input: os.path.dirname(input.manifest),
        model_dir=lambda wildcards, input: os.path.dirname(input.model),
        fdr=PREDICT["fdr"],
    shell:
        "tfbinding calibrate --dataset {params.dataset:q} --model {wildcards.model}"
        " --model-dir {params.model_dir:q} --out {output:q} --fdr {params.fdr} > {log:q} 2>&1"


rule predict:
    input:
        # with split.folds: the K fold models as one ensemble (their mean), its site
        # threshold from their out-of-fold scores
        model=(
            fold_model_files(PREDICT["model"])
            if FOLDS
            else f"{RESULTS}/models/{PREDICT['model']}/model.keras"
        ),
        threshold=(
            f"{OUT_OF_FOLD}/{PREDICT['model']}.threshold.json"
            if FOLDS
            else f"{RESULTS}/models/{PREDICT['model']}/threshold.json"
        ),
        fasta=PREPARED_FASTA,
        fai=f"{PREPARED_FASTA}.fai",
        peaks=list(TASKS.values()),
        bigwigs=SIGNAL_BIGWIGS,
    output:
        # one set of tracks per task of a multi-task model (<chrom>.<task>.bw)
        bedgraph=[f"{PREDICTIONS}/{{chrom}}{task}.bedGraph" for task in TASK_SUFFIXES],
        bigwig=[f"{PREDICTIONS}/{{chrom}}{task}.bw" for task in TASK_SUFFIXES],
        sites=[
            f"{PREDICTIONS}/{{chrom}}{task}.sites.narrowPeak" for task in TASK_SUFFIXES
        ],
        windows=f"{PREDICTIONS}/{{chrom}}.windows.npz",
        metrics=f"{PREDICTIONS}/{{chrom}}.metrics.json",
    log:
        f"{RESULTS}/logs/predict/{{chrom}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/predict/{{chrom}}.tsv"
    wildcard_constraints:
        # only the configured chromosomes: genome.bw is merge_predictions' output
        chrom=alternatives(PREDICT["chromosomes"]),
    conda:
        MODELS_ENV
    threads: 2
    resources:
        mem_mb=lambda wildcards, input, attempt: chrom_mem_mb(
            wildcards, input, attempt, bytes_per_base=4
        )
        + 1500,
        runtime=240,
    params:
        model=PREDICT["model"],
        model_dir=lambda wildcards, input: [
            os.path.dirname(m)
            for m in ([input.model] if isinstance(input.model, str) else input.model)
        ],
        out_dir=lambda wildcards, output: os.path.dirname(output.metrics),
        stride=PREDICT["stride"],
        engine=PREDICT["engine"],
        content=[content_id(path) for path in (*TASKS.values(), *SIGNAL_BIGWIGS)],
        window=config["windows"],
        rule=config["labels"],
        aliases=aliases_json(),
        tasks=tasks_args(),
        signals=signals_args(),
    shell:
        "tfbinding predict --model {params.model} --model-dir {params.model_dir:q}"
        " --threshold {input.threshold:q} --fasta {input.fasta:q} --chrom {wildcards.chrom:q}"
        " --out-dir {params.out_dir:q} --length {params.window[length]} --flank {params.window[flank]}"
        " --stride {params.stride} --engine {params.engine}"
        " --max-n-fraction {params.window[max_n_fraction]} --peaks {input.peaks:q} --mode {params.rule[mode]}"
        " --min-overlap-bp {params.rule[min_overlap_bp]}"
        " --min-overlap-fraction {params.rule[min_overlap_fraction]}"
        " --aliases {params.aliases:q} {params.tasks} {params.signals} > {log:q} 2>&1"


rule merge_predictions:
    # genome.bw and genome.sites.narrowPeak; genome.<task>.* for each task of a multi-task model
    input:
        bigwigs=expand(
            f"{PREDICTIONS}/{{chrom}}{{{{task_suffix}}}}.bw",
            chrom=PREDICT["chromosomes"],
        ),
        sites=expand(
            f"{PREDICTIONS}/{{chrom}}{{{{task_suffix}}}}.sites.narrowPeak",
            chrom=PREDICT["chromosomes"],
        ),
        fai=f"{PREPARED_FASTA}.fai",
    output:
        bigwig=f"{PREDICTIONS}/{GENOME_STEM}{{task_suffix}}.bw",
        sites=f"{PREDICTIONS}/{GENOME_STEM}{{task_suffix}}.sites.narrowPeak",
    log:
        f"{RESULTS}/logs/merge_predictions{{task_suffix}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/merge_predictions{{task_suffix}}.tsv"
    wildcard_constraints:
        # "" for one task, else ".<task>"
        task_suffix=alternatives(TASK_SUFFIXES),
    conda:
        DATASET_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        chroms=PREDICT["chromosomes"],
    shell:
        "tfbinding merge-predictions --chroms {params.chroms:q} --bigwigs {input.bigwigs:q}"
        " --sites {input.sites:q} --fai {input.fai:q} --out-bigwig {output.bigwig:q}"
        " --out-sites {output.sites:q} > {log:q} 2>&1"


rule track_hub:
    input:
        bigwigs=[f"{PREDICTIONS}/{GENOME_STEM}{task}.bw" for task in TASK_SUFFIXES],
    output:
        HUB_FILES,
    log:
        f"{RESULTS}/logs/track_hub.log",
    conda:
        DATASET_ENV
    threads: 1
    resources:
        mem_mb=500,
        runtime=10,
    params:
        out_dir=f"{PREDICTIONS}/hub",
        genome=HUB.get("genome"),
        email=HUB.get("email") or "",
        name=config["name"],
        model=PREDICT["model"],
        tasks=tasks_args(),
    shell:
        "tfbinding track-hub --out-dir {params.out_dir:q} --genome {params.genome:q}"
        " --email {params.email:q} --name {params.name:q} --model {params.model}"
        " --bigwigs {input.bigwigs:q} {params.tasks} > {log:q} 2>&1"
