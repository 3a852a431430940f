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


# split.folds: K -> each model trained and evaluated once per fold (K x models jobs, each
# schedulable on its own node), then the out-of-fold step over every fold's test scores
use rule train as train_fold with:
    input:
        manifest=f"{FOLD_DATASET}/{MANIFEST}",
        arrays=dataset_files(FOLD_DATASET, splits=SPLITS[:2], manifest=False),
        motif=lambda wildcards: (
            config["motif"]
            if wildcards.model == "improved" and config["motif"]
            else []
        ),
    output:
        model=f"{RESULTS}/models/fold{{fold}}/{{model}}/model.keras",
        history=f"{RESULTS}/models/fold{{fold}}/{{model}}/history.csv",
        curves=f"{RESULTS}/models/fold{{fold}}/{{model}}/curves.png",
    log:
        f"{RESULTS}/logs/train/fold{{fold}}/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/fold{{fold}}/{{model}}.tsv"


use rule evaluate as evaluate_fold with:
    input:
        manifest=f"{FOLD_DATASET}/{MANIFEST}",
        test=dataset_files(FOLD_DATASET, splits=("test",), manifest=False),
        models=[
            f"{RESULTS}/models/fold{{fold}}/{m}/model.keras" for m in TRAINED_MODELS
        ],
        histories=[
            f"{RESULTS}/models/fold{{fold}}/{m}/history.csv" for m in TRAINED_MODELS
        ],
        motif=config["motif"] if "motif_baseline" in MODELS and config["motif"] else [],
    output:
        metrics=f"{EVALUATION}/fold{{fold}}/metrics.json",
        table=f"{EVALUATION}/fold{{fold}}/metrics.md",
        roc=f"{EVALUATION}/fold{{fold}}/roc.png",
        pr=f"{EVALUATION}/fold{{fold}}/pr.png",
        ablation=f"{EVALUATION}/fold{{fold}}/ablation.md",
        scores=f"{EVALUATION}/fold{{fold}}/test_scores.npz",
    log:
        f"{RESULTS}/logs/evaluate/fold{{fold}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/evaluate/fold{{fold}}.tsv"


rule cross_validate:
    input:
        scores=expand(rules.evaluate_fold.output.scores, fold=FOLD_IDS),
        metrics=expand(rules.evaluate_fold.output.metrics, fold=FOLD_IDS),
        histories=[
            f"{RESULTS}/models/fold{fold}/{m}/history.csv"
            for fold in FOLD_IDS
            for m in TRAINED_MODELS
        ],
    output:
        metrics=f"{OUT_OF_FOLD}/metrics.json",
        table=report(
            f"{OUT_OF_FOLD}/metrics.md",
            caption="../report/metrics.rst",
            category="Evaluation",
        ),
        roc=f"{OUT_OF_FOLD}/roc.png",
        pr=f"{OUT_OF_FOLD}/pr.png",
        scores=f"{OUT_OF_FOLD}/scores.npz",
        ablation=f"{OUT_OF_FOLD}/ablation.md",
        thresholds=[f"{OUT_OF_FOLD}/{m}.threshold.json" for m in TRAINED_MODELS],
    log:
        f"{RESULTS}/logs/cross_validate.log",
    benchmark:
        f"{RESULTS}/benchmarks/cross_validate.tsv"
    conda:
        MODELS_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        fold_dirs=[f"{RESULTS}/models/fold{fold}" for fold in FOLD_IDS],
        models=TRAINED_MODELS,
        out_dir=lambda wildcards, output: os.path.dirname(output.metrics),
        evaluation=config["evaluation"],
        fdr=PREDICT["fdr"],
    shell:
        "tfbinding cross-validate --scores {input.scores:q} --metrics {input.metrics:q}"
        " --fold-dirs {params.fold_dirs:q} --models {params.models:q} --out-dir {params.out_dir:q}"
        " --bootstrap {params.evaluation[bootstrap]} --seed {params.evaluation[seed]}"
        " --fdr {params.fdr} > {log:q} 2>&1"
