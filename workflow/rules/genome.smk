rule prepare_genome:
    input:
        config["genome"]["fasta"],
    output:
        fasta=PREPARED_FASTA,
        fai=f"{PREPARED_FASTA}.fai",
        info=f"{PREPARED_FASTA}.source.json",
    log:
        f"logs/prepare_genome/{Path(PREPARED_FASTA).stem}.log",
    benchmark:
        f"benchmarks/results/prepare_genome/{Path(PREPARED_FASTA).stem}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=60,
    conda:
        CONDA_ENV
    shell:
        "tfbinding prepare-genome --fasta {input:q} --out {output.fasta:q} > {log:q} 2>&1"
