"""Keras's own config dialects and nnplug's: a model config as tf.keras 2 writes it (HDF5 `model_config`,
layers with batch_input_shape) and as Keras 3 writes it (config.json: {module, class_name, config,
registered_name}, InputLayer batch_shape, dtype policies), turned into nnplug's form and back. Fields that
only restate a default (a null regularizer, sparse=false) are dropped on reading; anything else is kept, so
the schema check names it."""
from ... import initializers as _initializers
from .. import losses as _losses
from .errors import ModelFileError

KERAS2_VERSION = "2.15.0"  # the tf.keras layout the .h5 files follow
KERAS3_VERSION = "3.6.0"  # the .keras layout
_WRAPPER_KEYS = ("module", "registered_name", "build_config", "shared_object_id")
_DEFAULTS = {"sparse": False, "ragged": False, "optional": False, "data_format": "channels_last",
             "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
             "kernel_constraint": None, "bias_constraint": None, "lora_rank": None, "quantization_config": None}
_OPTIMIZER_KEYS = {"learning_rate", "decay", "momentum", "nesterov", "beta_1", "beta_2", "epsilon", "rho",
                   "clipnorm", "clipvalue", "name", "schedule_decay"}
_OPTIMIZER_DEFAULTS = {"weight_decay": None, "global_clipnorm": None, "use_ema": False, "ema_momentum": 0.99,
                       "ema_overwrite_frequency": None, "loss_scale_factor": None, "jit_compile": None,
                       "gradient_accumulation_steps": None, "amsgrad": False, "centered": False,
                       "is_legacy_optimizer": False}


def _snake(name):
    return "".join("_" + c.lower() if c.isupper() and i else c.lower() for i, c in enumerate(name))


# -- reading -----------------------------------------------------------------------------------
def read_model(spec, path):
    """nnplug's {class_name, config} from any of the three dialects (the schema check comes after)."""
    if not isinstance(spec, dict):
        raise ModelFileError(path, f"the model config must be an object, got {type(spec).__name__}")
    spec = {k: v for k, v in spec.items() if k not in _WRAPPER_KEYS + ("compile_config",)}
    config = spec.get("config")
    if isinstance(config, list):  # Keras 2.0-2.2: a Sequential's config is its layer list
        config = {"name": "sequential", "layers": config}
    if spec.get("class_name") == "Functional" or (spec.get("class_name") == "Model" and isinstance(config, dict)
                                                   and "input_layers" in config):
        raise ModelFileError(path, "functional models written by Keras itself are not read yet; rebuild the "
                                   "model in code and load its weights")
    if isinstance(config, dict) and isinstance(config.get("layers"), list):
        config = {k: v for k, v in config.items() if k not in ("trainable", "dtype", "build_input_shape")}
        config["layers"] = [_read_layer(layer) for layer in config["layers"]]
    spec["config"] = config
    return spec


def _read_layer(layer):
    if not isinstance(layer, dict):
        return layer
    layer = {k: v for k, v in layer.items() if k not in _WRAPPER_KEYS + ("name", "inbound_nodes")}
    config = layer.get("config")
    if isinstance(config, dict):
        config = {k: v for k, v in config.items() if not (k in _DEFAULTS and v == _DEFAULTS[k])}
        if "batch_shape" in config:
            config["batch_input_shape"] = config.pop("batch_shape")
        if isinstance(config.get("dtype"), dict):  # a Keras 3 DTypePolicy
            config["dtype"] = (config["dtype"].get("config") or {}).get("name", config["dtype"])
        for key in ("kernel_initializer", "bias_initializer"):
            if isinstance(config.get(key), dict):
                config[key] = _read_initializer(config[key])
        layer["config"] = config
    return layer


def _read_initializer(spec):
    name, config = _snake(str(spec.get("class_name", ""))), spec.get("config") or {}
    if name in _initializers._BY_NAME and all(v is None for v in config.values()):
        return name
    return {k: v for k, v in spec.items() if k not in _WRAPPER_KEYS}


def read_training(spec, path, where):
    """nnplug's {loss, metrics, optimizer} from tf.keras 2's training_config or Keras 3's compile_config."""
    if not isinstance(spec, dict):
        raise ModelFileError(path, f"{where}: expected an object, got {type(spec).__name__}")
    optimizer = spec.get("optimizer_config", spec.get("optimizer"))
    if not isinstance(optimizer, dict):
        raise ModelFileError(path, f"{where}.optimizer: expected {{class_name, config}}, got {optimizer!r:.60}")
    config = dict(optimizer.get("config") or {}) if isinstance(optimizer.get("config"), dict) else {}
    if "lr" in config:
        config["learning_rate"] = config.pop("lr")
    for key, value in list(config.items()):
        if key in _OPTIMIZER_DEFAULTS and value == _OPTIMIZER_DEFAULTS[key]:
            del config[key]
        elif key not in _OPTIMIZER_KEYS:
            raise ModelFileError(path, f"{where}.optimizer.config.{key}: {value!r:.40} is not supported here; "
                                       f"load the model with compile=False")
    loss, metrics = spec.get("loss"), spec.get("metrics")
    loss = [None if l is None else _read_loss(l, path, where) for l in loss] if isinstance(loss, list) else \
        _read_loss(loss, path, where)
    metrics = {k: _read_metrics(v) for k, v in metrics.items()} if isinstance(metrics, dict) else _read_metrics(metrics)
    out = {"loss": loss, "metrics": metrics, "optimizer": {"class_name": optimizer.get("class_name"), "config": config}}
    if spec.get("loss_weights") is not None:
        out["loss_weights"] = spec["loss_weights"]
    return out


def _read_loss(loss, path, where):
    if isinstance(loss, dict) and "class_name" in loss:
        return {"class_name": loss["class_name"], "config": {k: v for k, v in (loss.get("config") or {}).items()
                                                             if k in ("name", "from_logits")}}
    try:
        return _losses.serialize(_losses.get(loss if isinstance(loss, str) else ""))
    except (ValueError, TypeError) as e:
        raise ModelFileError(path, f"{where}.loss: {e}") from None


def _read_metrics(metrics):
    """Metric names, from a list of names or tf.keras 2's nested lists of metric configs."""
    found = []

    def walk(m):
        if isinstance(m, str):
            found.append(m)
        elif isinstance(m, dict):
            name = (m.get("config") or {}).get("name") if isinstance(m.get("config"), dict) else None
            if isinstance(name, str):
                found.append(name)
        elif isinstance(m, list):
            for item in m:
                walk(item)

    walk(metrics or [])
    return found


# -- writing -----------------------------------------------------------------------------------
def _input_layer_first(spec):
    """The layer list as Keras writes a Sequential: an InputLayer first, carrying the batch shape, which the
    other layers then leave out (Keras 3 misreads it there)."""
    layers = list(spec["config"]["layers"])
    if spec["class_name"] != "Sequential" or not layers:
        return layers
    if layers[0]["class_name"] != "InputLayer" and layers[0]["config"].get("batch_input_shape") is not None:
        first = layers[0]["config"]
        layers.insert(0, {"class_name": "InputLayer", "config": {"name": f"{first['name']}_input",
                                                                 "batch_input_shape": first["batch_input_shape"]}})
    return [layers[0]] + [{"class_name": l["class_name"], "config": {k: v for k, v in l["config"].items()
                                                                     if k != "batch_input_shape"}}
                          for l in layers[1:]]


def keras2_model(spec):
    """tf.keras 2's model_config (nnplug's own form, with the InputLayer written out)."""
    return {"class_name": spec["class_name"], "config": {**spec["config"], "layers": _input_layer_first(spec)}}


def keras3_model(spec, training):
    """Keras 3's config.json for a Sequential: an InputLayer first, each layer wrapped with its module."""
    out_layers = []
    for layer in _input_layer_first(spec):
        cfg = dict(layer["config"])
        if layer["class_name"] == "InputLayer":
            cfg["batch_shape"] = cfg.pop("batch_input_shape")
        out_layers.append({"module": "keras.layers", "class_name": layer["class_name"], "config": cfg,
                           "registered_name": None})
    out = {"module": "keras", "class_name": spec["class_name"], "config": {**spec["config"], "layers": out_layers},
           "registered_name": None}
    if training is not None:
        out["compile_config"] = {"optimizer": {"module": "keras.optimizers", **training["optimizer"],
                                               "registered_name": None},
                                 "loss": _loss_names(training["loss"]), "metrics": training["metrics"] or None,
                                 "loss_weights": training.get("loss_weights"), "weighted_metrics": None}
    return out


def _loss_names(loss):
    """The loss's name, or a list of them (None for an output that is not trained), as Keras writes them."""
    if isinstance(loss, list):
        return [None if l is None else l["config"]["name"] for l in loss]
    return loss["config"]["name"]


def keras2_training(training):
    return {"loss": _loss_names(training["loss"]), "metrics": training["metrics"], "weighted_metrics": None,
            "loss_weights": training.get("loss_weights"), "optimizer_config": training["optimizer"]}

