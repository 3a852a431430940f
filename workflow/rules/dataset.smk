rule windows:
    input:
        fasta=PREPARED_FASTA,
        fai=f"{PREPARED_FASTA}.fai",
        bed=optional_input(WINDOWS_BED),
        blacklist=optional_input(BLACKLIST),
    output:
        f"{CHROM_DIR}/windows.npz",
    log:
        f"{RESULTS}/logs/windows/{{chrom}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/windows/{{chrom}}.tsv"
    conda:
        DATASET_ENV
    threads: 1
    resources:
        mem_mb=chrom_mem_mb,
        runtime=30,
    params:
        window=config["windows"],
        bed=lambda wildcards, input: input.bed or "",
        blacklist=lambda wildcards, input: input.blacklist or "",
        aliases=aliases_json(),
        content=[content_id(WINDOWS_BED), content_id(BLACKLIST)],
        gc="--gc" if config["split"]["negatives"] == "gc_matched" else "",
    shell:
        "tfbinding windows --fasta {input.fasta:q} --chrom {wildcards.chrom:q} --out {output:q}"
        " --length {params.window[length]} --stride {params.window[stride]}"
        " --offset {params.window[offset]} --max-n-fraction {params.window[max_n_fraction]}"
        " --windows-bed={params.bed:q} --blacklist={params.blacklist:q}"
        " --aliases {params.aliases:q} {params.gc} > {log:q} 2>&1"


rule labels:
    input:
        windows=rules.windows.output[0],
        peaks=list(TASKS.values()),
        fasta=PREPARED_FASTA,
        fai=f"{PREPARED_FASTA}.fai",
    output:
        f"{CHROM_DIR}/labels.npz",
    log:
        f"{RESULTS}/logs/labels/{{chrom}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/labels/{{chrom}}.tsv"
    conda:
        DATASET_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    params:
        length=config["windows"]["length"],
        rule=config["labels"],
        exclude="--exclude-ambiguous" if config["labels"]["exclude_ambiguous"] else "",
        allow_empty="--allow-empty-peaks" if config["allow_empty_peaks"] else "",
        aliases=aliases_json(),
        tasks=tasks_args(),
        content=[content_id(p) for p in TASKS.values()],
    shell:
        "tfbinding labels --windows {input.windows:q} --peaks {input.peaks:q}"
        " --fasta {input.fasta:q} --chrom {wildcards.chrom:q} --out {output:q}"
        " --length {params.length} --mode {params.rule[mode]}"
        " --min-overlap-bp {params.rule[min_overlap_bp]}"
        " --min-overlap-fraction {params.rule[min_overlap_fraction]} {params.exclude}"
        " {params.allow_empty} --aliases {params.aliases:q} {params.tasks} > {log:q} 2>&1"


rule split:
    input:
        labels=expand(rules.labels.output[0], chrom=CHROMOSOMES),
    output:
        f"{RESULTS}/split.npz",
    log:
        f"{RESULTS}/logs/split.log",
    benchmark:
        f"{RESULTS}/benchmarks/split.tsv"
    conda:
        DATASET_ENV
    threads: 1
    resources:
        mem_mb=lambda wildcards, input, attempt: int(
            (1000 + 4 * input.size_mb) * attempt
        ),
        runtime=30,
    params:
        chroms=CHROMOSOMES,
        window=config["windows"],
        split=config["split"],
        gc_match_test="--gc-match-test" if config["split"]["gc_match_test"] else "",
        folds=f" --folds {FOLDS}" if FOLDS else "",
        weights=config["weights"],
    shell:
        "tfbinding split --chroms {params.chroms:q} --labels {input.labels:q} --out {output:q}"
        " --length {params.window[length]} --flank {params.window[flank]}"
        " --method {params.split[method]} --fractions {params.split[fractions]}"
        " --seed {params.split[seed]} --valid {params.split[valid]:q} --test {params.split[test]:q}"
        " --block-size {params.split[block_size]} --negative-fraction {params.split[negative_fraction]}"
        " --negatives {params.split[negatives]} --gc-bin-width {params.split[gc_bin_width]}"
        " --gc-ratio {params.split[gc_ratio]} {params.gc_match_test}"
        " --weights {params.weights}{params.folds} > {log:q} 2>&1"


rule onehot:
    input:
        split_table=rules.split.output[0],
        fasta=PREPARED_FASTA,
        fai=f"{PREPARED_FASTA}.fai",
    output:
        # one file per split; with split.folds, one per part (each encoded once)
        [str(onehot_path(onehot_prefix_in(CHROM_DIR), part)) for part in PARTS],
    log:
        f"{RESULTS}/logs/onehot/{{chrom}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/onehot/{{chrom}}.tsv"
    conda:
        DATASET_ENV
    threads: 1
    resources:
        mem_mb=chrom_mem_mb,
        runtime=30,
    params:
        out_dir=lambda wildcards, output: os.path.dirname(output[0]),
    shell:
        "tfbinding onehot --split-table {input.split_table:q} --fasta {input.fasta:q}"
        " --chrom {wildcards.chrom:q} --out-dir {params.out_dir:q} > {log:q} 2>&1"


rule signals:
    input:
        split_table=rules.split.output[0],
        bigwigs=SIGNAL_BIGWIGS,
        fasta=PREPARED_FASTA,
        fai=f"{PREPARED_FASTA}.fai",
    output:
        [str(signal_path(signal_prefix_in(CHROM_DIR), part)) for part in PARTS],
        counts=str(signal_counts_path(signal_prefix_in(CHROM_DIR))),
    log:
        f"{RESULTS}/logs/signals/{{chrom}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/signals/{{chrom}}.tsv"
    conda:
        DATASET_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    params:
        out_dir=lambda wildcards, output: os.path.dirname(output.counts),
        transforms=[signal.get("transform", "none") for signal in SIGNALS],
        missing=config["signals_missing"],
        content=[content_id(p) for p in SIGNAL_BIGWIGS],
    shell:
        "tfbinding signals --split-table {input.split_table:q} --bigwigs {input.bigwigs:q}"
        " --transforms {params.transforms} --fasta {input.fasta:q} --chrom {wildcards.chrom:q}"
        " --out-dir {params.out_dir:q} --signals-missing {params.missing} > {log:q} 2>&1"


rule dataset:
    input:
        split_table=rules.split.output[0],
        onehot=expand(rules.onehot.output, chrom=CHROMOSOMES),
        signals=(
            expand(rules.signals.output.counts, chrom=CHROMOSOMES) if SIGNALS else []
        ),
        genome_info=f"{PREPARED_FASTA}.source.json",
        peaks=list(TASKS.values()),
        blacklist=optional_input(BLACKLIST),
        bed=optional_input(WINDOWS_BED),
    output:
        manifest=report(
            DATASET_MANIFEST,
            caption="../report/dataset.rst",
            category="Dataset",
        ),
        # with split.folds: dataset/fold<k>/ per fold, each with its own manifest
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
    log:
        f"{RESULTS}/logs/dataset.log",
    benchmark:
        f"{RESULTS}/benchmarks/dataset.tsv"
    conda:
        DATASET_ENV
    threads: 1
    resources:
        mem_mb=lambda wildcards, input, attempt: int(
            (1000 + input.size_mb / 10) * attempt
        ),
        runtime=60,
    params:
        blacklist=lambda wildcards, input: input.blacklist or "",
        bed=lambda wildcards, input: input.bed or "",
        chrom_dirs=[CHROM_DIR.format(chrom=chrom) for chrom in CHROMOSOMES],
        name=NAME,
        out_dir=lambda wildcards, output: os.path.dirname(output.manifest),
        config_json=json.dumps(DATASET_CONFIG, sort_keys=True),
        urls_json=json.dumps(WORKFLOW.urls(), sort_keys=True),
        tasks=tasks_args(),
        # each channel with its local bigWig ("file"), for the manifest's inputs.signals
        signals_json=WORKFLOW.signals_json(),
        content=[
            content_id(p)
            for p in (*TASKS.values(), BLACKLIST, WINDOWS_BED, *SIGNAL_BIGWIGS)
        ],
    shell:
        "tfbinding dataset --name {params.name:q} --split-table {input.split_table:q}"
        " --chrom-dirs {params.chrom_dirs:q} --out-dir {params.out_dir:q}"
        " --genome-info {input.genome_info:q} --peaks {input.peaks:q}"
        " --blacklist={params.blacklist:q} --windows-bed={params.bed:q}"
        " --config-json {params.config_json:q} --urls-json {params.urls_json:q} {params.tasks}"
        " --signals-json {params.signals_json:q}"
        " > {log:q} 2>&1"
