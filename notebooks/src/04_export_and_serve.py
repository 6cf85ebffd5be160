"""
Title: Export for TF Serving and call every signature
Author: vqct_keras team
Description: Export a tokenizer as a SavedModel with its words, load it in a fresh TensorFlow-only process, call every signature, and build the gRPC PredictRequest and the REST JSON body of each.
Backends: TensorFlow
Extra packages: tensorflow-serving-api
Accelerator: None (a free Colab CPU: about 2 minutes)
"""

"""
## Introduction

`vqct_keras.export.export_for_serving` writes a tokenizer in TF Serving's layout
(`<base>/<version>/saved_model.pb`) with four signatures: `encode_to_indices` (also
`serving_default`), `encode_uint8`, `decode_from_indices` and `reconstruct`. Beside the
SavedModel it writes `export_info.json` (signatures, shapes, index layout) and `vocabulary.json`
(the adjective and noun words of the codes), so a client can read codes as words without
vqct_keras. This notebook exports, serves in a fresh process, and builds the requests a TF
Serving client sends.
"""

# setup: the install cell from notebooks/make_notebooks.py

import os
import subprocess
import sys

QUICK = os.environ.get("VQCT_NOTEBOOK_QUICK") == "1"
BATCH = 2

import json
import textwrap

import keras
import numpy as np
import tensorflow as tf

from vqct_keras.data import load_dataset
from vqct_keras.export import export_for_serving
from vqct_keras.models import build_tokenizer
from vqct_keras.prior import load_default_prior

"""
## A tokenizer to export

The quickstart's trained `quickstart.keras` if it is here, else a fresh (untrained) tiny
tokenizer: the export is the same.
"""

if os.path.exists("quickstart.keras"):
    tokenizer = keras.saving.load_model("quickstart.keras")
else:
    tokenizer = build_tokenizer("vqct_tiny_32", prior=load_default_prior())
images = np.asarray(
    next(
        iter(
            load_dataset(
                "default",
                split=f"test[:{BATCH}]",
                batch_size=BATCH,
                shuffle=False,
            )
        )
    )
)

"""
## Export

The export is written to a hidden folder, loaded back and checked (every signature called
once), then renamed into `serving/vqct/1/`, so a server watching `serving/vqct` never sees a
half-written version.
"""

saved = export_for_serving(tokenizer, "serving/vqct", overwrite=True)
print(saved, sorted(os.listdir(saved)))
with open(os.path.join(saved, "export_info.json")) as file:
    info = json.load(file)
print("signatures:", sorted(info["signatures"]))
print(
    "index layout:", info["index_layout"]["slots"], "words:", info["vocabulary"]
)

"""
## Serve it in a fresh process

A new Python process with TensorFlow only (no Keras model code, no vqct_keras) loads the
SavedModel, calls every signature and reads the codes as words from `vocabulary.json`.
"""

np.save("images.npy", images)
SERVER = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import tensorflow as tf

    model = tf.saved_model.load(sys.argv[1])
    images = np.load("images.npy")
    uint8 = np.round((images + 1) * 127.5).astype("uint8")
    calls = {
        "serving_default": {"images": images},
        "encode_to_indices": {"images": images},
        "encode_uint8": {"images": uint8},
        "reconstruct": {"images": images},
    }
    for name, inputs in calls.items():
        outputs = model.signatures[name](**{k: tf.constant(v) for k, v in inputs.items()})
        print(name, {k: (tuple(v.shape), v.dtype.name) for k, v in outputs.items()})
    indices = model.signatures["encode_to_indices"](images=tf.constant(images))["indices"]
    decoded = model.signatures["decode_from_indices"](indices=indices)["images"]
    print("decode_from_indices", tuple(decoded.shape), decoded.dtype.name)
    with open(sys.argv[1] + "/vocabulary.json") as file:
        vocabulary = json.load(file)
    first = indices.numpy()[0, 0, 0]
    words = [vocabulary["adjectives"][i] for i in first[:-1]] + [vocabulary["nouns"][first[-1]]]
    print("first position:", first.tolist(), "->", " ".join(words))
    """
)
with open("serve_check.py", "w") as file:
    file.write(SERVER)
result = subprocess.run(
    [sys.executable, "serve_check.py", saved], capture_output=True, text=True
)
print(result.stdout)
assert result.returncode == 0, result.stderr[-2000:]
local = tokenizer.indices_to_words(tokenizer.encode_to_indices(images[:1]))[
    0, 0, 0
]
print("same words as the Keras model:", result.stdout.strip().endswith(local))

"""
## gRPC: a `PredictRequest` per signature

`tensorflow-serving-api` holds the request protos. TF Serving answers `Predict` on port 8500 with
`model_spec.name` the folder name (`vqct`); without a signature name it uses `serving_default`.
Here the requests are built and their tensors checked against the loaded SavedModel (sending
them needs a running server, see the last section).
"""

from tensorflow_serving.apis import predict_pb2

uint8_images = np.round((images + 1) * 127.5).astype("uint8")
indices = np.asarray(tokenizer.encode_to_indices(images))
request_inputs = {
    "serving_default": {"images": images},
    "encode_to_indices": {"images": images},
    "encode_uint8": {"images": uint8_images},
    "decode_from_indices": {"indices": indices},
    "reconstruct": {"images": images},
}
loaded = tf.saved_model.load(saved)
requests = {}
for name, inputs in request_inputs.items():
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "vqct"
    request.model_spec.signature_name = name
    for key, value in inputs.items():
        request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
    requests[name] = request
    # What the server would run: the signature on the request's tensors.
    arguments = {
        key: tf.constant(tf.make_ndarray(proto))
        for key, proto in request.inputs.items()
    }
    outputs = loaded.signatures[name](**arguments)
    print(
        f"{name:20s} request {request.ByteSize():6d} bytes ->",
        {k: tuple(v.shape) for k, v in outputs.items()},
    )

"""
## REST: the JSON body per signature

TF Serving's REST API (port 8501) takes `POST /v1/models/vqct:predict` with the signature name
and `instances`, one item per image (no batch axis: the server stacks them). uint8 pixels and
indices are plain integers.
"""

bodies = {}
for name, inputs in request_inputs.items():
    ((key, value),) = inputs.items()
    bodies[name] = json.dumps(
        {
            "signature_name": name,
            "instances": [{key: item.tolist()} for item in value],
        }
    )
    print(
        f"{name:20s} {len(bodies[name]):7d} characters: {bodies[name][:70]}..."
    )
# The REST body maps back to the same tensors as the gRPC request:
body = json.loads(bodies["encode_uint8"])
stacked = np.array(
    [item["images"] for item in body["instances"]], dtype="uint8"
)
print(
    "REST == gRPC tensor:",
    np.array_equal(
        stacked, tf.make_ndarray(requests["encode_uint8"].inputs["images"])
    ),
)

"""
## Run the server (not run here)

```bash
docker run -p 8500:8500 -p 8501:8501 \
    -v "$PWD/serving/vqct:/models/vqct" -e MODEL_NAME=vqct tensorflow/serving
curl -X POST localhost:8501/v1/models/vqct:predict -d @body.json
```

With gRPC: `prediction_service_pb2_grpc.PredictionServiceStub(grpc.insecure_channel("localhost:8500")).Predict(requests["encode_uint8"], 10.0)`.
"""
