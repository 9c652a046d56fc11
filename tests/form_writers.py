"""Write one TF1 model in every form it ships in, the way TF 1.x programs wrote them (`migrate.parity.forms`).

`write_forms(root, builder, inputs, outputs)` builds `builder(tf, v1)` (a `construct_builders`-style function that
adds a model to the default graph) under `tf1_models.tf1_style()`, gives every trainable variable random non-zero
values (biases included) and writes, from the same session:

- `ckpt/`: `tf.train.Saver` checkpoint with its `.meta` (the reference form);
- `saved_model/`: `SavedModelBuilder` with a `serving_default` predict signature (`inputs` / `outputs`: {key: tensor
  name}), tag set `serve`;
- `simple_save/`: `tf.saved_model.simple_save` (its keys are the tensors' op names);
- `frozen.pb` / `frozen.pbtxt`: `graph_util.convert_variables_to_constants` for the outputs, binary and text;
- `model_dir/`: an Estimator-style model_dir: checkpoints written without a `.meta` + `graph.pbtxt` from
  `tf.io.write_graph` (TF 2.21 has no `tf.estimator`; this is what `Estimator.train` leaves);
- `model_dir_export/`: the same plus `export/exporter/1700000000/`, a SavedModel whose only signature is `predict`
  (what `Estimator.export_savedmodel` / an exporter writes).

Returns {form: path}. `save_predict_signature(v1, session, path, inputs, outputs)` writes one such SavedModel.
"""

from __future__ import annotations

import os
import shutil

from tf1_models import random_session, tf1_style


def save_predict_signature(v1, session, path: str, inputs: dict, outputs: dict, key: str = "serving_default",
                           tags=("serve",)):
    """`SavedModelBuilder` at `path` from `session`: one predict signature `key` over `inputs` / `outputs` ({key:
    tensor}), tag set `tags`, as TF 1.x serving exports wrote it. Returns the SignatureDef."""
    info = v1.saved_model.utils.build_tensor_info
    sig = v1.saved_model.signature_def_utils.build_signature_def(
        inputs={k: info(t) for k, t in inputs.items()}, outputs={k: info(t) for k, t in outputs.items()},
        method_name=v1.saved_model.signature_constants.PREDICT_METHOD_NAME)
    builder = v1.saved_model.Builder(path)
    builder.add_meta_graph_and_variables(session, list(tags), signature_def_map={key: sig})
    builder.save()
    return sig


def write_forms(root: str, builder, inputs: dict[str, str], outputs: dict[str, str], seed: int = 0) -> dict:
    import tensorflow as tf

    v1 = tf.compat.v1
    paths = {}
    for d in ("ckpt", "model_dir"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    with tf1_style(), tf.Graph().as_default() as g:
        builder(tf, v1)
        ins = {k: g.get_tensor_by_name(t) for k, t in inputs.items()}
        outs = {k: g.get_tensor_by_name(t) for k, t in outputs.items()}
        with random_session(seed) as s:
            paths["checkpoint"] = v1.train.Saver().save(s, os.path.join(root, "ckpt", "model.ckpt"), global_step=3)
            paths["saved_model"] = os.path.join(root, "saved_model")
            sig = save_predict_signature(v1, s, paths["saved_model"], ins, outs)
            v1.saved_model.simple_save(s, os.path.join(root, "simple_save"),
                                       inputs={t.op.name: t for t in ins.values()},
                                       outputs={t.op.name: t for t in outs.values()})
            paths["simple_save"] = os.path.join(root, "simple_save")
            frozen = v1.graph_util.convert_variables_to_constants(s, g.as_graph_def(),
                                                                  sorted({t.op.name for t in outs.values()}))
            tf.io.write_graph(frozen, root, "frozen.pb", as_text=False)
            tf.io.write_graph(frozen, root, "frozen.pbtxt", as_text=True)
            paths["frozen_pb"] = os.path.join(root, "frozen.pb")
            paths["frozen_pbtxt"] = os.path.join(root, "frozen.pbtxt")
            md = os.path.join(root, "model_dir")
            v1.train.Saver().save(s, os.path.join(md, "model.ckpt"), global_step=7, write_meta_graph=False)
            tf.io.write_graph(g.as_graph_def(), md, "graph.pbtxt", as_text=True)
            paths["model_dir"] = md
            mde = os.path.join(root, "model_dir_export")
            shutil.copytree(md, mde)
            b = v1.saved_model.builder.SavedModelBuilder(os.path.join(mde, "export", "exporter", "1700000000"))
            b.add_meta_graph_and_variables(s, ["serve"], signature_def_map={"predict": sig})
            b.save()
            paths["model_dir_export"] = mde
    return paths
