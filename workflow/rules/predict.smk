rule calibrate:
    input:
        manifest=f"{DATASET}/manifest.json",
        valid=[f"{DATASET}/valid/{array}.npy" for array in ARRAYS],
        model=rules.train.output.model,
    output:
        f"{RESULTS}/models/{{model}}/threshold.json",
    params:
        dataset=lambda wildcards, input: os.path.dirname(input.manifest),
        model_dir=lambda wildcards, input: os.path.dirname(input.model),
        fdr=PREDICT["fdr"],
    log:
        f"{RESULTS}/logs/calibrate/{{model}}.log",
    threads: 2
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        CONDA_ENV
    shell:
        "tfbinding calibrate --dataset {params.dataset:q} --model {wildcards.model}"
        " --model-dir {params.model_dir:q} --out {output:q} --fdr {params.fdr} > {log:q} 2>&1"


rule predict:
    input:
        model=f"{RESULTS}/models/{PREDICT['model']}/model.keras",
        threshold=f"{RESULTS}/models/{PREDICT['model']}/threshold.json",
        fasta=PREPARED_FASTA,
        fai=f"{PREPARED_FASTA}.fai",
        peaks=PEAKS,
    output:
        bedgraph=f"{PREDICTIONS}/{{chrom}}.bedGraph",
        bigwig=f"{PREDICTIONS}/{{chrom}}.bw",
        sites=f"{PREDICTIONS}/{{chrom}}.sites.bed",
        windows=f"{PREDICTIONS}/{{chrom}}.windows.npz",
        metrics=f"{PREDICTIONS}/{{chrom}}.metrics.json",
    params:
        model=PREDICT["model"],
        model_dir=lambda wildcards, input: os.path.dirname(input.model),
        out_dir=lambda wildcards, output: os.path.dirname(output.metrics),
        stride=PREDICT["stride"],
        content=content_id(PEAKS),
        window=config["windows"],
        rule=config["labels"],
        aliases=aliases_json(),
    log:
        f"{RESULTS}/logs/predict/{{chrom}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/predict/{{chrom}}.tsv"
    threads: 2
    resources:
        mem_mb=lambda wildcards, input, attempt: chrom_mem_mb(wildcards, input, attempt, bytes_per_base=4) + 1500,
        runtime=240,
    conda:
        CONDA_ENV
    shell:
        "tfbinding predict --model {params.model} --model-dir {params.model_dir:q}"
        " --threshold {input.threshold:q} --fasta {input.fasta:q} --chrom {wildcards.chrom:q}"
        " --out-dir {params.out_dir:q} --length {params.window[length]} --flank {params.window[flank]}"
        " --stride {params.stride} --max-n-fraction {params.window[max_n_fraction]}"
        " --peaks {input.peaks:q} --mode {params.rule[mode]}"
        " --min-overlap-bp {params.rule[min_overlap_bp]}"
        " --min-overlap-fraction {params.rule[min_overlap_fraction]}"
        " --aliases {params.aliases:q} > {log:q} 2>&1"
