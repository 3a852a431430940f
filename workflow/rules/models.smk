rule train:
    input:
        manifest=DATASET_MANIFEST,
        arrays=dataset_files(DATASET, splits=SPLITS[:2], manifest=False),
        motif=lambda wildcards: (
            config["motif"]
            if wildcards.model == "improved" and config["motif"]
            else []
        ),
    output:
        model=f"{RESULTS}/models/{{model}}/model.keras",
        history=f"{RESULTS}/models/{{model}}/history.csv",
        curves=report(
            f"{RESULTS}/models/{{model}}/curves.png",
            caption="../report/curves.rst",
            category="Training",
            subcategory="{model}",
        ),
    log:
        f"{RESULTS}/logs/train/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/{{model}}.tsv"
    conda:
        MODELS_ENV
    threads: 2
    resources:
        mem_mb=lambda wildcards, input, attempt: int(
            (2000 + 2 * input.size_mb) * attempt
        ),
        runtime=240,
    params:
        dataset=lambda wildcards, input: os.path.dirname(input.manifest),
        out_dir=lambda wildcards, output: os.path.dirname(output.model),
        training=json.dumps(config["training"], sort_keys=True),
        motif=lambda wildcards, input: input.motif or "",
        # the motif's sha256: a matrix replaced with an older mtime still retrains
        content=lambda wildcards: (
            content_id(config["motif"])
            if wildcards.model == "improved" and config["motif"]
            else ""
        ),
    shell:
        "tfbinding train --dataset {params.dataset:q} --model {wildcards.model}"
        " --out-dir {params.out_dir:q} --training-json {params.training:q} --motif={params.motif:q}"
        " --threads {threads} > {log:q} 2>&1"


rule evaluate:
    input:
        manifest=DATASET_MANIFEST,
        test=dataset_files(DATASET, splits=("test",), manifest=False),
        models=expand(rules.train.output.model, model=TRAINED_MODELS),
        histories=expand(rules.train.output.history, model=TRAINED_MODELS),
        motif=config["motif"] if "motif_baseline" in MODELS and config["motif"] else [],
    output:
        metrics=f"{EVALUATION}/metrics.json",
        table=report(
            f"{EVALUATION}/metrics.md",
            caption="../report/metrics.rst",
            category="Evaluation",
        ),
        roc=report(
            f"{EVALUATION}/roc.png", caption="../report/roc.rst", category="Evaluation"
        ),
        pr=report(
            f"{EVALUATION}/pr.png", caption="../report/pr.rst", category="Evaluation"
        ),
        ablation=report(
            f"{EVALUATION}/ablation.md",
            caption="../report/ablation.rst",
            category="Evaluation",
        ),
    log:
        f"{RESULTS}/logs/evaluate.log",
    benchmark:
        f"{RESULTS}/benchmarks/evaluate.tsv"
    conda:
        MODELS_ENV
    threads: 2
    resources:
        mem_mb=lambda wildcards, input, attempt: int(
            (2000 + 2 * input.size_mb) * attempt
        ),
        runtime=60,
    params:
        dataset=lambda wildcards, input: os.path.dirname(input.manifest),
        models=TRAINED_MODELS,
        model_dirs=lambda wildcards, input: [os.path.dirname(m) for m in input.models],
        motif=lambda wildcards, input: input.motif or "",
        out_dir=lambda wildcards, output: os.path.dirname(output.metrics),
        evaluation=config["evaluation"],
        content=(
            content_id(config["motif"])
            if "motif_baseline" in MODELS and config["motif"]
            else ""
        ),
    shell:
        "tfbinding evaluate --dataset {params.dataset:q} --models {params.models:q}"
        " --model-dirs {params.model_dirs:q} --motif={params.motif:q} --out-dir {params.out_dir:q}"
        " --bootstrap {params.evaluation[bootstrap]} --seed {params.evaluation[seed]} > {log:q} 2>&1"
