"""Refusals and hparams decisions for `tf-migrate convert`: what was found, the first real reason, the way out.

`refuse_without_cells`, `infer_hparams`, `decide_hparams` and `mismatch_message` live here (not in convert.py)
so the converter's jobs and its messages have one owner each.
"""

from __future__ import annotations

import os
from dataclasses import fields

from migrate.checkpoint.bindings import BindingPlan, embedding_role
from migrate.checkpoint.forget_bias import load_hparams_dict
from migrate.checkpoint.reader import Checkpoint, CheckpointError
from migrate.checkpoint.recognise import Recognition
from migrate.checkpoint.tables import FOREIGN_SIGNATURES

# -- refusing what is not a Seq2Seq RNN ------------------------------------------------------------
CELL_CLASSES = "LSTMCell / BasicLSTMCell / LSTMBlockCell / GRUCell / GRUBlockCell"


def _layers(cells) -> int:
    return 1 + max((c.layer or 0) for c in cells) if cells else 0


def found_summary(ckpt: Checkpoint, rec: Recognition) -> str:
    """What the checkpoint holds, in one line (cells with their roles, embeddings, dense, other parts)."""
    model_vars = rec.model_variable_names()
    found = [f"{len(ckpt.variables)} variables ({len(model_vars)} weights, "
             f"{sum(len(o.slots) for o in rec.optimizers)} optimizer slots)"]
    if rec.cells:
        found.append(f"{len(rec.cells)} cell(s): " + ", ".join(
            f"{c.tf1_class.split(' (')[0]} {c.scope}"
            + (f" [{c.role}]" if c.role else "") + (" [shared fw+bw]" if c.directions else "")
            for c in rec.cells))
    if rec.other_cells:
        found.append(f"{len(rec.other_cells)} cell(s) of no known layout: " + ", ".join(
            f"{o.tf1_class or 'unknown'} {o.scope}" + (f" [in {o.loops[0]}]" if o.loops else "")
            for o in rec.other_cells[:4]) + (" ..." if len(rec.other_cells) > 4 else ""))
    if rec.embeddings:
        found.append("embeddings " + ", ".join(f"{e.name} {[e.vocab_size, e.dim]}" for e in rec.embeddings))
    if rec.dense:
        found.append("dense " + ", ".join(f"{d.kernel} {[d.input_size, d.units]}{'' if d.bias else ' (no bias)'}"
                                          for d in rec.dense[:4]) + (" ..." if len(rec.dense) > 4 else ""))
    if rec.parts:
        found.append("other parts " + ", ".join(f"{p.part} {p.name}" for p in rec.parts[:4]))
    sig = rec.foreign_signatures()
    if sig:
        found.append("scopes " + ", ".join(f"{k} x{n} ({FOREIGN_SIGNATURES[k]})" for k, n in sorted(sig.items())))
    return "; ".join(found)


def seq2seq_plausible(rec: Recognition) -> bool:
    """A tf2.Seq2Seq could be this model: encoder and decoder cells, token embeddings, a projection to a vocab."""
    enc = [c for c in rec.cells if c.role == "encoder"]
    dec = [c for c in rec.cells if c.role == "decoder"]
    vocabs = {e.vocab_size for e in rec.embeddings}
    return bool(enc and dec and rec.embeddings and len(rec.embeddings) <= 2
                and any(d.bias and d.units in vocabs for d in rec.dense))


def graph_way(ckpt: str = "CKPT", *, automatic: bool = True) -> str:
    """The graph path, the first way out wherever there is a `.meta`. `automatic`: `convert` itself takes it for
    this checkpoint when --out is a folder (`migrate.graph.cli.wants_graph`: a .meta and not a Seq2Seq)."""
    how = (f"tf-migrate convert {ckpt} --out DIR (a folder, not a .keras file: convert then takes the graph path "
           f"by itself; --from-graph asks for it explicitly)" if automatic
           else f"tf-migrate convert {ckpt} --from-graph --out DIR")
    return f"graph conversion (the Keras model rebuilt from its .meta graph, parity checked on the spot): {how}"


def ways_out(ckpt: Checkpoint, rec: Recognition, *, hparams: bool) -> str:
    """The paths that fit this checkpoint, as one sentence each."""
    ways = []
    if ckpt.meta_path:
        ways.append(graph_way(ckpt.prefix))
    if rec.cells:
        example = rec.cells[0].scope
        ways.append(f"your own Keras model, filled with the Python API: migrate.checkpoint.cell_weights(ckpt, "
                    f"\"{example}\") (and dense_weights / embedding_weights)")
    ways.append("a TOML mapping file onto your Keras model: migrate.checkpoint.apply_mapping(model, ckpt, "
                "\"mapping.toml\") (docs/checkpoint.md)")
    if hparams:
        ways.append("if it was trained as a tf2.Seq2Seq-shaped model, --hparams hparams.json with its hparams")
    return "What fits: " + "; or ".join(ways) + "."


def structural_reasons(rec: Recognition) -> list[str]:
    """Why this checkpoint cannot be a tf2.Seq2Seq, first real reason first ([] when it could be)."""
    enc = [c for c in rec.cells if c.role == "encoder"]
    dec = [c for c in rec.cells if c.role == "decoder"]
    reasons = []
    if not rec.cells:
        other = [FOREIGN_SIGNATURES[k] for k in rec.foreign_signatures() if "Cell" in FOREIGN_SIGNATURES[k]
                 or "Cudnn" in FOREIGN_SIGNATURES[k]]
        if other:
            return [f"its recurrent cells are {', '.join(other)}, none of {CELL_CLASSES}"]
        return [f"it has no {CELL_CLASSES} (no recurrent cell)"]
    if not dec:
        kind = "a bidirectional RNN" if any(c.direction or c.directions for c in rec.cells) else "one RNN"
        what = (" with a CRF layer (a sequence tagger)" if any(p.kind == "crf_transitions" for p in rec.parts)
                else " (a language model, tagger or classifier)")
        reasons.append(f"it is {kind}{what}: no cell is a decoder (no cell's final state or outputs feed another "
                       f"cell{'' if rec.graph is not None else ', and no scope is named decoder'})")
    elif not enc:
        reasons.append("it has a decoder but no encoder cell")
    for c in rec.cells:
        if c.directions:
            reasons.append(f"one cell ({c.scope}) runs both directions (one cell object passed as cell_fw and "
                           f"cell_bw); tf2.Seq2Seq's bidirectional encoder has two")
    if enc and dec and _layers(enc) != _layers(dec):
        reasons.append(f"the encoder has {_layers(enc)} layer(s) and the decoder {_layers(dec)}; tf2.Seq2Seq uses "
                       f"one num_layers for both")
    kinds = sorted({c.family for c in enc + dec})
    if len(kinds) > 1:
        reasons.append(f"encoder and decoder cells differ ({' and '.join(kinds)}); tf2.Seq2Seq uses one cell_type")
    if rec.cells and not rec.embeddings:
        reasons.append("it has no embedding (its inputs are not token ids: one-hot or real-valued features)")
    legacy = [p for p in rec.parts if p.kind == "legacy_attention"]
    if legacy:
        reasons.append(f"its attention is legacy_seq2seq's ({', '.join(sorted({_legacy_name(p.name) for p in legacy}))}"
                       f"), which tf2.Seq2Seq does not compute (contrib.seq2seq attention only)")
    if any(p.kind == "crf_transitions" for p in rec.parts) and dec:
        reasons.append("it has a CRF layer (transitions)")
    return reasons


def _legacy_name(name: str) -> str:
    comps = name.split("/")
    return next((c for c in comps if c.startswith(("Attn", "Attention_"))), comps[-1])


def refuse_without_cells(ckpt: Checkpoint, rec: Recognition) -> None:
    """Raise a `CheckpointError` with what was found, the first real reason and the way out when the checkpoint
    cannot be a `tf2.Seq2Seq`."""
    reasons = structural_reasons(rec)
    if not reasons:
        return
    more = f" (also: {'; '.join(reasons[1:])})" if len(reasons) > 1 else ""
    raise CheckpointError(f"{ckpt.prefix}: not a TF1 Seq2Seq RNN checkpoint, so not convertible to a tf2.Seq2Seq: "
                          f"{reasons[0]}{more}. "
                          f"Found: {found_summary(ckpt, rec)}. {ways_out(ckpt, rec, hparams=False)} "
                          f"Nothing was written.")


# -- hparams ---------------------------------------------------------------------------------------
def infer_hparams(rec: Recognition) -> tuple[dict, dict[str, str]]:
    """Hparams a `tf2.Seq2Seq` needs, from shapes and names; returns (values, field -> how it was found)."""
    from seq2seq_task import HParams  # noqa: PLC0415

    values: dict = {}
    how: dict[str, str] = {}
    problems: list[str] = []
    enc = [c for c in rec.cells if c.role == "encoder"]
    dec = [c for c in rec.cells if c.role == "decoder"]
    kinds = sorted({c.kind for c in enc + dec})
    if len(kinds) != 1:
        problems.append(f"cell kinds differ between groups ({', '.join(kinds)})")
    values["cell_type"] = kinds[0] if kinds else "lstm"
    how["cell_type"] = f"cell scope {enc[0].scope if enc else '?'} ({', '.join(kinds)})"
    if enc:
        values["num_units"] = enc[0].units
        how["num_units"] = f"{enc[0].scope} bias shape"
        values["encoder_type"] = "bi" if any(c.direction for c in enc) else "uni"
        how["encoder_type"] = "bidirectional_rnn/fw|bw scopes" if values["encoder_type"] == "bi" else "no fw/bw scopes"
        values["num_layers"] = 1 + max(c.layer or 0 for c in enc)
        how["num_layers"] = "multi_rnn_cell/cell_N indices" if values["num_layers"] > 1 else "no multi_rnn_cell"
    else:
        problems.append("no encoder cell group (no scope containing 'encoder')")
    roles = {}
    for e in rec.embeddings:
        roles.setdefault(e.role or embedding_role(e.name) or "unknown", []).append(e)
    if len(rec.embeddings) == 1:
        e = rec.embeddings[0]
        values.update(share_embeddings=True, src_vocab_size=e.vocab_size, tgt_vocab_size=e.vocab_size,
                      embedding_size=e.dim)
        for k in ("share_embeddings", "src_vocab_size", "tgt_vocab_size", "embedding_size"):
            how[k] = f"one embedding {e.name} {[e.vocab_size, e.dim]}"
    elif len(roles.get("source", [])) == 1 and len(roles.get("target", [])) == 1:
        s, t = roles["source"][0], roles["target"][0]
        values.update(share_embeddings=False, src_vocab_size=s.vocab_size, tgt_vocab_size=t.vocab_size,
                      embedding_size=s.dim)
        how.update(share_embeddings="two embeddings", src_vocab_size=f"{s.name} shape",
                   tgt_vocab_size=f"{t.name} shape", embedding_size=f"{s.name} shape")
    elif not rec.embeddings:
        problems.append("there is no embedding to take the vocabulary sizes from")
    else:
        problems.append(f"cannot tell source and target embeddings apart: {len(rec.embeddings)} embeddings ("
                        f"{', '.join(e.name for e in rec.embeddings)}) whose names say neither source/encoder nor "
                        f"target/decoder")
    parts = {a.part: a for a in rec.attention}
    if not parts:
        values["attention"] = "none"
        how["attention"] = "no attention variables"
    elif "query_layer" in parts or "attention_v" in parts:
        values["attention"] = "normalized_bahdanau" if "attention_b" in parts else "bahdanau"
        how["attention"] = "query_layer / attention_v" + (" + attention_g/attention_b" if "attention_b" in parts else "")
    else:
        values["attention"] = "scaled_luong" if "attention_g" in parts else "luong"
        how["attention"] = "memory_layer only" + (" + luong_attention/attention_g" if "attention_g" in parts else "")
    if "attention_layer" in parts:
        values["attention_layer_size"] = int(parts["attention_layer"].shape[1])
        how["attention_layer_size"] = f"{parts['attention_layer'].name} shape"
    else:
        values["attention_layer_size"] = None
        how["attention_layer_size"] = "no attention_layer variable"
    tgt = values.get("tgt_vocab_size")
    proj = [d for d in rec.dense if d.bias and (tgt is None or d.units == tgt)]
    if len(proj) == 1:
        values["projection"] = "slim" if proj[0].naming == "weights/biases" else "dense"
        how["projection"] = f"{proj[0].scope} ({proj[0].naming})"
        if values["attention"] != "none" and "num_units" in values:
            dec_units = values["num_units"] * (2 if values.get("encoder_type") == "bi" else 1)
            att_width = values["attention_layer_size"] or dec_units
            rows = proj[0].input_size
            if rows == att_width and rows != dec_units:
                values["output_attention"], how["output_attention"] = True, "projection input = attention width"
            elif rows == dec_units and rows != att_width:
                values["output_attention"], how["output_attention"] = False, "projection input = decoder units"
            else:
                values["output_attention"] = True
                how["output_attention"] = ("ASSUMED True (TF1's default): attention width = decoder units, "
                                           "shapes cannot tell; pass --hparams if it was False")
    else:
        with_bias = [d for d in rec.dense if d.bias]
        if not rec.dense:
            problems.append("there is no dense layer to be the output projection")
        elif not with_bias:
            problems.append(f"no dense layer has a bias ({', '.join(d.kernel for d in rec.dense)}); tf2.Seq2Seq's "
                            f"output projection has one")
        elif tgt is not None and not proj:
            src = next((e.name for e in rec.embeddings if e.vocab_size == tgt), "the embedding")
            problems.append("no dense layer outputs the target vocabulary: " + ", ".join(
                f"{d.kernel} has {d.units} units" for d in with_bias) + f", the vocabulary is {tgt} (from {src})")
        else:
            problems.append(f"{len(proj)} dense layers with a bias could be the output projection ("
                            f"{', '.join(d.kernel for d in proj)})")
    if problems:
        plausible = seq2seq_plausible(rec)
        raise CheckpointError("cannot infer the hparams from the checkpoint: " + "; ".join(problems)
                              + ". " + (ways_out_text(rec, hparams=plausible)))
    for f in fields(HParams):
        if f.name not in values and f.name not in ("extra", "forget_bias"):
            how.setdefault(f.name, "default (not stored in a checkpoint)")
    return values, how


def ways_out_text(rec: Recognition, *, hparams: bool) -> str:
    ways = ["fill your own Keras model with the Python API (migrate.checkpoint.cell_weights) or a TOML mapping file "
            "(migrate.checkpoint.apply_mapping; docs/checkpoint.md)"]
    if rec.graph is not None:
        ways.insert(0, graph_way(automatic=False))   # a Seq2Seq-shaped model: --out DIR alone keeps the Seq2Seq path
    if hparams:
        ways.insert(0, "pass --hparams hparams.json with the values it was trained with (a JSON object of "
                       "tf2.Seq2Seq hparams; docs/checkpoint.md)")
    return "What fits: " + "; or ".join(ways) + "."


def decide_hparams(ckpt: Checkpoint, rec: Recognition, hparams_path: str | None) -> tuple[dict, dict, str | None]:
    """(hparams dict, field -> source, hparams file used or None)."""
    path = hparams_path
    if path is None:
        beside = os.path.join(ckpt.directory, "hparams.json")
        path = beside if os.path.isfile(beside) else None
    if path is not None:
        d = load_hparams_dict(path)
        return d, {k: f"hparams file {path}" for k in d}, path
    values, how = infer_hparams(rec)
    return values, how, None


def mismatch_message(ckpt: Checkpoint, plan: BindingPlan, strict: bool, hp_file_hint: str) -> str | None:
    problems = []
    if plan.missing:
        problems.append(f"missing ({len(plan.missing)}): Keras weights with nothing in the checkpoint:\n    "
                        + "\n    ".join(plan.missing))
    if plan.mismatched:
        problems.append(f"mismatched ({len(plan.mismatched)}):\n    " + "\n    ".join(plan.mismatched))
    if strict and plan.unexpected:
        problems.append(f"unexpected ({len(plan.unexpected)}, an error with --strict): checkpoint weights the model "
                        f"does not use:\n    " + "\n    ".join(plan.unexpected))
    if not problems:
        return None
    return (f"{ckpt.prefix} does not fit the tf2 model built from {hp_file_hint}; nothing was written.\n  "
            + "\n  ".join(problems)
            + "\n  What to do: pass --hparams with the values the TF1 model was trained with if those used were "
              "wrong (or fix the file used); for a model that is not tf2.Seq2Seq-shaped, fill your own Keras model "
              "with migrate.checkpoint.cell_weights or a TOML mapping file (docs/checkpoint.md).")
