rule prepare_genome:
    input:
        GENOME_FASTA,
    output:
        fasta=PREPARED_FASTA,
        fai=f"{PREPARED_FASTA}.fai",
        info=f"{PREPARED_FASTA}.source.json",
    log:
        f"logs/prepare_genome/{Path(PREPARED_FASTA).parent.name}/{Path(PREPARED_FASTA).stem}.log",
    benchmark:
        f"logs/prepare_genome/{Path(PREPARED_FASTA).parent.name}/{Path(PREPARED_FASTA).stem}.benchmark.tsv"
    conda:
        DATASET_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=60,
    params:
        content=content_id(GENOME_FASTA),
    shell:
        "tfbinding prepare-genome --fasta {input:q} --out {output.fasta:q} > {log:q} 2>&1"


rule download:
    output:
        f"{DOWNLOAD_FOLDER}/{{key}}/{{filename}}",
    log:
        "logs/download/{key}/{filename}.log",
    wildcard_constraints:
        key="[0-9a-f]{10}",
        filename="[^/]+",
    conda:
        DATASET_ENV
    threads: 1
    resources:
        mem_mb=200,
        runtime=120,
    params:
        url=lambda wildcards, output: DOWNLOADS[output[0]]["source"],
        sha256=lambda wildcards, output: DOWNLOADS[output[0]].get("sha256", ""),
        md5=lambda wildcards, output: DOWNLOADS[output[0]].get("md5", ""),
        key=lambda wildcards, output: DOWNLOADS[output[0]]["key"],
        settings=config["downloads"],
    shell:
        "tfbinding download --url {params.url:q} --out {output:q} --sha256={params.sha256:q}"
        " --md5={params.md5:q} --retries {params.settings[retries]}"
        " --timeout {params.settings[timeout]} --config-key {params.key:q} > {log:q} 2>&1"
