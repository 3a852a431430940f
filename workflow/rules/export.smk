# Exports of a built dataset to other tools' formats; not part of `rule all`. Build with
#   snakemake --cores 2 results/<name>/deepchem/{train,valid,test}/metadata.csv.gzip
# or `snakemake --cores 2 export_deepchem`.


rule export_deepchem:
    input:
        manifest=DATASET_MANIFEST,
        arrays=dataset_files(DATASET, manifest=False),
    output:
        # each folder is written whole and renamed into place; its metadata marks it done
        [f"{RESULTS}/deepchem/{split}/metadata.csv.gzip" for split in SPLITS],
    log:
        f"{RESULTS}/logs/export_deepchem.log",
    benchmark:
        f"{RESULTS}/benchmarks/export_deepchem.tsv"
    conda:
        DATASET_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=60,
    params:
        dataset=lambda wildcards, input: os.path.dirname(input.manifest),
        out_dir=lambda wildcards, output: os.path.dirname(os.path.dirname(output[0])),
    shell:
        "tfbinding export-deepchem --dataset {params.dataset:q} --out-dir {params.out_dir:q}"
        " > {log:q} 2>&1"
