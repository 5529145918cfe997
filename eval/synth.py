"""Synthetic arXiv abstracts in the layout of Kaggle's ``arxiv-metadata-oai-snapshot.json``.

Deterministic for a seed. Each record looks like a snapshot line: ``id`` (new-style ``YYMM.NNNNN``,
one in forty old-style ``archive/YYMMNNN``), ``submitter``, ``authors``, ``title``, ``comments``,
``journal-ref``, ``doi``, ``report-no``, ``categories``, ``license``, ``abstract`` (wrapped at about
80 columns with a two-space indent and a trailing newline, as the snapshot has it), ``versions``
(RFC 2822 timestamps agreeing with the ID's month), ``update_date`` and ``authors_parsed``.

Abstracts are built from sentence templates over field-specific vocabularies (ten arXiv archives),
so they have real sentence structure, numbers, the odd inline formula, and the word statistics of
topical text (a few common function words, a long tail of terms): what BM25, the chunker and the
embedding model see in the real snapshot. Lengths vary from about 90 to 330 words (mean about 190),
i.e. one or two 200-token chunks each. Queries for the retrieval benchmark come from the same
vocabularies (`queries`).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

FIELDS: dict[str, dict[str, list[str]]] = {
    "cs.CL": {
        "objects": ["large language models", "machine translation", "question answering", "text summarization",
                    "named entity recognition", "dialogue systems", "retrieval-augmented generation",
                    "instruction tuning", "tokenization", "multilingual pretraining", "speech recognition",
                    "semantic parsing", "code generation", "chain-of-thought reasoning", "sentiment analysis",
                    "low-resource languages", "long-context modelling", "reading comprehension"],
        "methods": ["a contrastive pretraining objective", "a mixture-of-experts decoder", "a sparse attention scheme",
                    "a preference optimization algorithm", "a retrieval module", "a curriculum of synthetic data",
                    "a lightweight adapter", "a multi-stage fine-tuning pipeline", "a reward model",
                    "a decoding strategy based on self-consistency", "a hierarchical transformer"],
        "data": ["MMLU", "GSM8K", "WMT benchmarks", "SQuAD", "a corpus of 1.2 trillion tokens", "Natural Questions",
                 "a new multilingual benchmark", "HumanEval", "crowd-sourced annotations"],
        "metrics": ["accuracy", "BLEU", "exact match", "F1", "perplexity", "win rate", "pass@1", "ROUGE-L"],
    },
    "cs.LG": {
        "objects": ["stochastic gradient descent", "generalization in overparameterized networks",
                    "federated learning", "graph neural networks", "reinforcement learning from human feedback",
                    "offline reinforcement learning", "continual learning", "model compression", "quantization",
                    "knowledge distillation", "diffusion models", "self-supervised representation learning",
                    "Bayesian optimization", "neural architecture search", "out-of-distribution detection"],
        "methods": ["an adaptive learning-rate schedule", "a variance-reduced estimator", "a low-rank factorization",
                    "a policy gradient method", "a kernel approximation", "a message-passing layer",
                    "a second-order optimizer", "a regularizer on the Jacobian", "an energy-based objective",
                    "a meta-learning procedure", "a pruning criterion"],
        "data": ["ImageNet", "CIFAR-10", "the Atari suite", "MuJoCo control tasks", "OGB benchmarks",
                 "synthetic regression tasks", "tabular datasets from OpenML"],
        "metrics": ["test error", "sample efficiency", "regret", "wall-clock time", "calibration error",
                    "top-1 accuracy", "return"],
    },
    "cs.CV": {
        "objects": ["object detection", "semantic segmentation", "image generation", "video understanding",
                    "3D reconstruction", "pose estimation", "optical flow", "visual question answering",
                    "image super-resolution", "neural radiance fields", "open-vocabulary recognition",
                    "autonomous driving perception", "medical image analysis"],
        "methods": ["a vision transformer backbone", "a masked autoencoder", "a diffusion prior",
                    "a feature pyramid", "a point-cloud encoder", "a cross-attention fusion module",
                    "a test-time adaptation scheme", "a Gaussian splatting representation"],
        "data": ["COCO", "ADE20K", "KITTI", "nuScenes", "LAION-5B", "ScanNet", "Kinetics-400"],
        "metrics": ["mAP", "mIoU", "FID", "PSNR", "top-1 accuracy", "frames per second"],
    },
    "hep-th": {
        "objects": ["black hole entropy", "holographic duality", "string compactifications", "conformal field theory",
                    "scattering amplitudes", "the swampland conjectures", "supersymmetric gauge theories",
                    "quantum gravity in three dimensions", "entanglement entropy", "inflationary cosmology",
                    "the AdS/CFT correspondence", "higher-spin theories"],
        "methods": ["a bootstrap approach", "a localization computation", "a perturbative expansion",
                    "the replica trick", "a lattice regularization", "an effective field theory analysis",
                    "a twistor-space formulation", "a semiclassical saddle-point analysis"],
        "data": ["the large-N limit", "Calabi-Yau threefolds", "de Sitter space", "anti-de Sitter space",
                 "the Schwarzschild background", "two-dimensional dilaton gravity"],
        "metrics": ["the central charge", "the free energy", "the anomalous dimensions", "the Page curve",
                    "the one-loop determinant"],
    },
    "astro-ph.GA": {
        "objects": ["galaxy formation", "dark matter halos", "star formation in molecular clouds",
                    "active galactic nuclei", "the circumgalactic medium", "stellar streams", "galaxy mergers",
                    "the interstellar medium", "supermassive black hole growth", "globular clusters"],
        "methods": ["cosmological hydrodynamical simulations", "integral-field spectroscopy",
                    "a Bayesian population model", "radiative transfer modelling", "N-body simulations",
                    "spectral energy distribution fitting", "machine-learned emulators"],
        "data": ["JWST observations", "Gaia DR3", "SDSS spectra", "ALMA data", "the IllustrisTNG simulations",
                 "Hubble Space Telescope imaging", "MUSE data cubes"],
        "metrics": ["stellar mass", "metallicity gradients", "star-formation rates", "velocity dispersion",
                    "the luminosity function"],
    },
    "cond-mat.str-el": {
        "objects": ["high-temperature superconductivity", "quantum spin liquids", "topological insulators",
                    "the Hubbard model", "moire materials", "heavy-fermion compounds", "quantum criticality",
                    "charge density waves", "frustrated magnets", "non-Fermi liquids", "twisted bilayer graphene"],
        "methods": ["density matrix renormalization group calculations", "quantum Monte Carlo simulations",
                    "dynamical mean-field theory", "angle-resolved photoemission spectroscopy",
                    "neutron scattering", "a slave-boson mean-field theory", "tensor network methods"],
        "data": ["a kagome lattice", "a triangular lattice", "cuprate samples", "thin films grown by MBE",
                 "single crystals", "the square lattice at half filling"],
        "metrics": ["the spin gap", "the critical temperature", "the Hall conductivity", "the specific heat",
                    "the correlation length"],
    },
    "quant-ph": {
        "objects": ["quantum error correction", "variational quantum algorithms", "quantum key distribution",
                    "entanglement distillation", "quantum sensing", "open quantum systems", "quantum advantage",
                    "superconducting qubits", "trapped-ion processors", "quantum walks", "measurement-based computing"],
        "methods": ["a surface-code decoder", "a tensor-network simulation", "dynamical decoupling",
                    "a randomized benchmarking protocol", "a Lindblad master equation",
                    "a parameterized circuit ansatz", "shadow tomography", "a bosonic code"],
        "data": ["a 53-qubit processor", "photonic chips", "neutral-atom arrays", "noisy intermediate-scale devices",
                 "numerical simulations of up to 40 qubits"],
        "metrics": ["the logical error rate", "gate fidelity", "the secret key rate", "the quantum Fisher information",
                    "circuit depth"],
    },
    "math.AP": {
        "objects": ["the Navier-Stokes equations", "nonlinear Schrodinger equations", "elliptic boundary problems",
                    "the porous medium equation", "mean-field games", "free boundary problems",
                    "hyperbolic conservation laws", "the Monge-Ampere equation", "kinetic equations"],
        "methods": ["energy estimates", "a compactness argument", "the method of moving planes",
                    "a fixed-point argument in Sobolev spaces", "Strichartz estimates", "a blow-up analysis",
                    "De Giorgi-Nash-Moser iteration", "a variational approach"],
        "data": ["bounded Lipschitz domains", "the whole space", "the periodic setting",
                 "exterior domains", "Riemannian manifolds with boundary"],
        "metrics": ["the decay rate", "the regularity of solutions", "the lifespan", "uniqueness", "stability"],
    },
    "q-bio.NC": {
        "objects": ["neural population dynamics", "synaptic plasticity", "decision making", "working memory",
                    "grid cells", "sensory coding", "the basal ganglia", "sleep-dependent consolidation",
                    "cortical oscillations", "predictive coding"],
        "methods": ["a recurrent network model", "two-photon calcium imaging", "a drift-diffusion model",
                    "a Bayesian observer model", "high-density electrophysiology", "optogenetic perturbations",
                    "a dimensionality-reduction analysis"],
        "data": ["recordings from mouse visual cortex", "human fMRI data", "primate prefrontal recordings",
                 "zebrafish whole-brain imaging", "behavioural data from 120 participants"],
        "metrics": ["decoding accuracy", "reaction times", "firing-rate variability", "mutual information",
                    "the explained variance"],
    },
    "stat.ME": {
        "objects": ["causal inference", "high-dimensional regression", "survival analysis", "multiple testing",
                    "missing data", "functional data analysis", "conformal prediction", "time series forecasting",
                    "Bayesian hierarchical models", "small-area estimation", "change-point detection"],
        "methods": ["a doubly robust estimator", "a penalized likelihood approach", "a Gibbs sampler",
                    "a bootstrap procedure", "an empirical Bayes method", "a sequential Monte Carlo scheme",
                    "a spline-based estimator", "a permutation test"],
        "data": ["electronic health records", "a randomized clinical trial", "census microdata",
                 "simulated data", "genome-wide association data", "air-quality measurements"],
        "metrics": ["the mean squared error", "coverage", "the false discovery rate", "statistical power",
                    "asymptotic efficiency"],
    },
}

ADJECTIVES = ["novel", "simple", "scalable", "principled", "efficient", "unified", "general", "robust",
              "lightweight", "data-driven", "theoretically grounded", "modular"]
VERBS = ["improves", "outperforms", "matches", "generalizes", "reduces", "accelerates", "stabilizes", "explains",
         "characterizes", "recovers", "captures", "predicts", "controls", "bounds", "approximates", "unifies",
         "extends", "simplifies", "quantifies", "reveals"]
CONNECTIVES = ["Moreover,", "In addition,", "Furthermore,", "Crucially,", "Surprisingly,", "In particular,",
               "As a consequence,", "Finally,", "To this end,", "Notably,", "However,", "In contrast,", "Second,",
               "Empirically,", "Theoretically,", "Overall,"]
FORMULAS = ["$O(n \\log n)$", "$\\mathcal{O}(1/\\sqrt{T})$", "$d \\geq 3$", "$\\epsilon$-approximate",
            "$L^2$", "$k$", "$N \\to \\infty$", "$\\alpha = 0.05$"]
# A general academic lexicon, combined with each field's terms into noun phrases: text made of them
# shares few word 4-grams between abstracts, as real abstracts do (template text would share many,
# and make near-duplicate detection far busier than on the real snapshot).
QUALIFIERS = ("efficient robust scalable sparse hierarchical adaptive probabilistic nonlinear stochastic distributed "
              "low-rank multi-scale self-supervised data-driven physics-informed high-dimensional noisy latent "
              "structured interpretable differentiable asymptotic variational discrete continuous local global "
              "dynamic optimal approximate exact generalized conditional joint temporal spatial spectral geometric "
              "statistical empirical numerical analytic compact modular unified lightweight large-scale "
              "fine-grained symmetric invariant equivariant recurrent convolutional graph-based kernel-based "
              "Bayesian causal real-time online offline multimodal cross-domain zero-shot few-shot semi-supervised "
              "unsupervised regularized weighted randomized deterministic quantized pruned distilled").split()
HEADS = ("framework estimator algorithm representation objective architecture bound regime mechanism benchmark "
         "dataset model method approach procedure criterion formulation decomposition embedding encoder decoder "
         "solver sampler kernel operator metric loss prior posterior likelihood manifold lattice ensemble network "
         "pipeline protocol scheme strategy heuristic baseline surrogate approximation relaxation regularizer "
         "constraint trade-off signal spectrum distribution variance uncertainty stability sensitivity resolution "
         "throughput latency calibration fidelity consistency identifiability efficiency expressivity sparsity "
         "invariance correlations observables dynamics symmetry topology geometry").split()
HEAD_PHRASES = ["phase transition", "scaling law", "error rate", "convergence rate", "sample complexity",
                "generalization gap", "inductive bias", "feature space", "search space", "parameter space",
                "noise model", "memory footprint", "training signal", "boundary condition", "ground state"]

TEMPLATES = [
    "{np_cap} remains a central challenge for {obj}, and existing {np2} fail to scale.",
    "We study {obj} through the lens of {np}.",
    "In this paper, we propose {method}, a {adj} approach to {obj} that {verb} {np}.",
    "We introduce {np} for {obj}, requiring no {np2}.",
    "Our analysis relies on {method2} and yields {metric} bounds of order {formula}.",
    "On {data}, the {np} improves {metric} by {num}% over {np2}.",
    "{conn} we show that {method2} {verb} {np} on {data} with {num}x fewer {np2}.",
    "We evaluate {np} on {data} and {data2}, reporting {metric} and {metric2}.",
    "{conn} {obj} and {obj2} share {np}.",
    "Unlike prior {np}, we assume no access to {data}.",
    "Under mild assumptions, {metric} of the {np} converges at rate {formula}.",
    "Ablations attribute most of the gain in {metric} to {np}.",
    "{conn} code and {np} are released.",
    "These findings connect {obj} with {np2} and suggest {np} for {obj2}.",
    "{metric_cap} depends strongly on {np}, varying {num}-fold across {data}.",
    "Compared with {method2}, the {np} {verb} {metric} on {num} of {num2} {np2} tasks.",
    "{conn} a case study on {data} exposes the limits of {np} for {obj}.",
    "The {np} extends to {obj2}, recovering {np2} as special cases.",
    "{conn} {np} {verb} {np2} when {np3} is {qual}.",
    "We derive {np} and {np2} for {obj}.",
    "Our {np} combines {method2} with {np2}.",
    "{conn} the {np} is {qual} and {qual2} at once.",
    "Numerical experiments with {np} confirm {np2}.",
    "We further characterise {np} in terms of {metric}.",
]
FIRST = ["Wei", "Anna", "Luca", "Maria", "Jun", "David", "Priya", "Omar", "Sofia", "Kenji", "Elena", "Tomas",
         "Fatima", "Jakob", "Chen", "Laura", "Ahmed", "Yuki", "Ines", "Pavel"]
LAST = ["Zhang", "Muller", "Rossi", "Garcia", "Kim", "Smith", "Patel", "Haddad", "Novak", "Tanaka", "Ivanova",
        "Silva", "Okafor", "Larsen", "Wang", "Dubois", "Rahman", "Sato", "Costa", "Nadolsky"]
OLD_ARCHIVES = {"hep-th": "hep-th", "astro-ph.GA": "astro-ph", "cond-mat.str-el": "cond-mat", "quant-ph": "quant-ph",
                "math.AP": "math", "q-bio.NC": "q-bio", "stat.ME": "math", "cs.CL": "cs", "cs.LG": "cs", "cs.CV": "cs"}
LICENSES = [None, None, "http://arxiv.org/licenses/nonexclusive-distrib/1.0/",
            "http://creativecommons.org/licenses/by/4.0/"]


def _noun_phrase(rng: random.Random, vocab: dict[str, list[str]]) -> str:
    """`qualifier head`, `qualifier field-term` or `head of field-term`: many combinations, few repeats."""
    form = rng.random()
    head = rng.choice(HEADS) if rng.random() < 0.8 else rng.choice(HEAD_PHRASES)
    if form < 0.4:
        return f"{rng.choice(QUALIFIERS)} {head}"
    if form < 0.7:
        return f"{rng.choice(QUALIFIERS)} {rng.choice(vocab['objects'])}"
    return f"{head} of {rng.choice(vocab['objects'])}"


def _fill(rng: random.Random, vocab: dict[str, list[str]], template: str) -> str:
    obj, obj2 = rng.sample(vocab["objects"], 2)
    method, method2 = rng.sample(vocab["methods"], 2)
    data, data2 = rng.sample(vocab["data"], 2)
    metric, metric2 = rng.sample(vocab["metrics"], 2)
    num2 = rng.randint(5, 40)
    np1, np2, np3 = (_noun_phrase(rng, vocab) for _ in range(3))
    text = template.format(
        obj=obj, obj2=obj2, obj_cap=obj[0].upper() + obj[1:], method=method, method2=method2, data=data,
        data2=data2, metric=metric, metric2=metric2, metric_cap=metric[0].upper() + metric[1:],
        adj=rng.choice(ADJECTIVES), verb=rng.choice(VERBS), conn=rng.choice(CONNECTIVES),
        formula=rng.choice(FORMULAS), num=rng.randint(2, num2), num2=num2, year=rng.randint(2008, 2024),
        np=np1, np_cap=np1[0].upper() + np1[1:], np2=np2, np3=np3, qual=rng.choice(QUALIFIERS),
        qual2=rng.choice(QUALIFIERS),
    )
    return text[0].upper() + text[1:]


def abstract_text(rng: random.Random, field: str) -> str:
    """One abstract of about 90-330 words (mean about 190) on `field`, as plain sentences."""
    vocab = FIELDS[field]
    target = max(90, min(330, int(rng.gauss(190, 45))))
    sentences: list[str] = []
    words = 0
    order: list[str] = []
    while words < target:
        if not order:  # each template once before any comes back
            order = rng.sample(TEMPLATES, len(TEMPLATES))
        sentence = _fill(rng, vocab, order.pop())
        sentences.append(sentence)
        words += len(sentence.split())
    return " ".join(sentences)


def wrap(text: str, width: int = 80) -> str:
    """The snapshot's wrapping: a two-space indent, lines of about `width` columns, a final newline."""
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "  " + "\n".join(lines) + "\n"


def _title(rng: random.Random, vocab: dict[str, list[str]]) -> str:
    obj, obj2 = rng.sample(vocab["objects"], 2)
    method = re.sub(r"^(?:a|an|the) ", "", rng.choice(vocab["methods"]))
    form = rng.randrange(3)
    if form == 0:
        return f"{method[0].upper()}{method[1:]} for {obj}"
    if form == 1:
        return f"On {obj} and {obj2}"
    return f"{obj[0].upper()}{obj[1:]} via {method}"


def _wrap_title(title: str, width: int = 60) -> str:
    """Long titles are wrapped in the snapshot too: a newline and two spaces."""
    cut = title.rfind(" ", 0, width)
    return title if len(title) <= width or cut < 0 else title[:cut] + "\n  " + title[cut + 1 :]


def record(n: int, rng: random.Random) -> dict[str, Any]:
    """The `n`-th record of a synthetic snapshot."""
    field = rng.choice(list(FIELDS))
    vocab = FIELDS[field]
    months_since_2007 = n * 200 // 100_000 % 220  # IDs advance in time like the real file
    year, month = 2007 + months_since_2007 // 12, months_since_2007 % 12 + 1
    if n % 40 == 0:  # an old-style ID, of the 1990s and 2000s
        m = n // 40
        year, month = 1992 + m // 12_000 % 15, m // 1000 % 12 + 1
        arxiv_id = f"{OLD_ARCHIVES[field]}/{year % 100:02d}{month:02d}{m % 1000:03d}"
    else:
        arxiv_id = f"{year % 100:02d}{month:02d}.{n % 100_000:05d}"
    created = datetime(year, month, 1, 10, tzinfo=UTC) + timedelta(
        days=rng.randint(0, 27), hours=rng.randint(0, 12), minutes=rng.randint(0, 59))
    versions = [{"version": "v1", "created": format_datetime(created, usegmt=True)}]
    for v in range(2, 2 + (rng.random() < 0.3) + (rng.random() < 0.1)):
        created += timedelta(days=rng.randint(5, 200))
        versions.append({"version": f"v{v}", "created": format_datetime(created, usegmt=True)})
    people = [(rng.choice(FIRST), rng.choice(LAST)) for _ in range(rng.randint(1, 6))]
    names = [f"{f} {last}" for f, last in people]
    authors = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    title = _title(rng, vocab)
    cats = [field, *rng.sample([c for c in FIELDS if c != field], rng.randint(0, 2))]
    return {
        "id": arxiv_id, "submitter": names[0], "authors": authors,
        "title": _wrap_title(title),
        "comments": rng.choice([None, f"{rng.randint(6, 45)} pages, {rng.randint(1, 12)} figures",
                                "Accepted at a conference", f"{rng.randint(8, 30)} pages"]),
        "journal-ref": None, "doi": None, "report-no": None, "categories": " ".join(cats),
        "license": rng.choice(LICENSES), "abstract": wrap(abstract_text(rng, field)), "versions": versions,
        "update_date": (created + timedelta(days=rng.randint(0, 30))).date().isoformat(),
        "authors_parsed": [[last, first, ""] for first, last in people],
    }


def records(n: int, seed: int = 0) -> Iterator[dict[str, Any]]:
    """`n` snapshot records, deterministic for `seed`."""
    rng = random.Random(seed)
    for i in range(n):
        yield record(i, rng)


def write_snapshot(path: Path, n: int, seed: int = 0) -> Path:
    """Write `n` records to `path` as JSON lines, one at a time (memory stays flat)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for rec in records(n, seed):
            f.write(json.dumps(rec) + "\n")
    tmp.replace(path)
    return path


QUESTION_TEMPLATES = [
    "How does {method} help with {obj}?",
    "Which papers study {obj} using {data}?",
    "What is known about {metric} in {obj}?",
    "{obj_cap} with {method}",
    "results on {data} for {obj}",
    "Is there work connecting {obj} and {obj2}?",
    "What improves {metric} on {data}?",
    "Which methods use {method} for {obj2}?",
    "Which papers from {year} are about {obj}?",  # a date filter
]


def queries(n: int, seed: int = 1) -> list[str]:
    """`n` questions in the vocabulary of the synthetic abstracts (deterministic for `seed`)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        vocab = FIELDS[rng.choice(list(FIELDS))]
        out.append(_fill(rng, vocab, rng.choice(QUESTION_TEMPLATES)))
    return out
