# In-silico experiments (marginalization, spacing and orientation, ablation) of a model
# whose motifs were discovered: `snakemake --cores 2 results/<name>/insilico/<model>/insilico.json`.
# A single-task, sequence-only model; the backgrounds come from the dataset's negatives.


rule insilico:
    input:
        model=rules.train.output.model,
        manifest=DATASET_MANIFEST,
        arrays=dataset_files(DATASET, manifest=False),
        patterns=f"{RESULTS}/interpretation/{{model}}/patterns.npz",
        attributions=f"{RESULTS}/interpretation/{{model}}/attributions.npz",
        motif=config["motif"] or [],
    output:
        marginalization=f"{RESULTS}/insilico/{{model}}/marginalization.tsv",
        spacing=f"{RESULTS}/insilico/{{model}}/spacing.tsv",
        ablation=f"{RESULTS}/insilico/{{model}}/ablation.tsv",
        marginalization_png=report(
            f"{RESULTS}/insilico/{{model}}/marginalization.png",
            caption="../report/insilico.rst",
            category="In-silico experiments",
            subcategory="{model}",
        ),
        spacing_png=report(
            f"{RESULTS}/insilico/{{model}}/spacing.png",
            caption="../report/insilico.rst",
            category="In-silico experiments",
            subcategory="{model}",
        ),
        ablation_png=report(
            f"{RESULTS}/insilico/{{model}}/ablation.png",
            caption="../report/insilico.rst",
            category="In-silico experiments",
            subcategory="{model}",
        ),
        summary=f"{RESULTS}/insilico/{{model}}/insilico.json",
    log:
        f"{RESULTS}/logs/insilico/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/insilico/{{model}}.tsv"
    conda:
        MODELS_ENV
    threads: 2
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        model_dir=lambda wildcards, input: os.path.dirname(input.model),
        dataset=lambda wildcards, input: os.path.dirname(input.manifest),
        out_dir=lambda wildcards, output: os.path.dirname(output.summary),
        motif=lambda wildcards, input: input.motif or "",
        settings=config["insilico"],
        # the motif's sha256: a matrix replaced with an older mtime still reruns
        content=content_id(config["motif"]) if config["motif"] else "",
    shell:
        "tfbinding insilico --model {wildcards.model} --model-dir {params.model_dir:q}"
        " --dataset {params.dataset:q} --out-dir {params.out_dir:q} --motif={params.motif:q}"
        " --patterns {input.patterns:q} --attributions {input.attributions:q}"
        " --backgrounds {params.settings[backgrounds]} --background {params.settings[background]}"
        " --max-spacing {params.settings[max_spacing]}"
        " --spacing-motifs {params.settings[spacing_motifs]}"
        " --max-patterns {params.settings[max_patterns]}"
        " --ablations {params.settings[ablations]} --bootstrap {params.settings[bootstrap]}"
        " --seed {params.settings[seed]} --threads {threads} > {log:q} 2>&1"
