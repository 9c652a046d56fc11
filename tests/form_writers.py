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

Returns {form: path}.
"""

from __future__ import annotations

import os
import shutil

import numpy as np
from tf1_models import session_config, tf1_style


def write_forms(root: str, builder, inputs: dict[str, str], outputs: dict[str, str], seed: int = 0) -> dict:
    import tensorflow as tf

    v1 = tf.compat.v1
    paths = {}
    for d in ("ckpt", "model_dir"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    with tf1_style(), tf.Graph().as_default() as g:
        builder(tf, v1)
        rng = np.random.RandomState(seed)
        ins = {k: g.get_tensor_by_name(t) for k, t in inputs.items()}
        outs = {k: g.get_tensor_by_name(t) for k, t in outputs.items()}
        with v1.Session(config=session_config()) as s:
            s.run(v1.global_variables_initializer())
            for v in v1.trainable_variables():
                s.run(v.assign(rng.normal(0, 0.5, v.shape.as_list()).astype("float32")))
            paths["checkpoint"] = v1.train.Saver().save(s, os.path.join(root, "ckpt", "model.ckpt"), global_step=3)
            sig = v1.saved_model.signature_def_utils.predict_signature_def(inputs=ins, outputs=outs)
            b = v1.saved_model.builder.SavedModelBuilder(os.path.join(root, "saved_model"))
            b.add_meta_graph_and_variables(s, [v1.saved_model.tag_constants.SERVING],
                                           signature_def_map={"serving_default": sig})
            b.save()
            paths["saved_model"] = os.path.join(root, "saved_model")
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
