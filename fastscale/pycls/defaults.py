"""pycls's config schema: every key it accepts, with its default value and so its type.

A pycls config file is merged into these defaults (yacs): a key that is not here is refused, a
value whose type differs from its default's is refused, and a key the file leaves out keeps the
default. Reading a file the way pycls does therefore needs the whole table, not only the model
keys. Facts recorded from ``pycls/core/config.py`` of facebookresearch/pycls at commit 5719de6.
"""

from __future__ import annotations

SECTIONS: dict[str, dict[str, object]] = {
    "MODEL": {"TYPE": "", "DEPTH": 0, "NUM_CLASSES": 10, "LOSS_FUN": "cross_entropy", "ACTIVATION_FUN": "relu",
              "ACTIVATION_INPLACE": True, "SCALING_TYPE": "", "SCALING_FACTOR": 1.0},
    "RESNET": {"TRANS_FUN": "basic_transform", "NUM_GROUPS": 1, "WIDTH_PER_GROUP": 64, "STRIDE_1X1": True},
    "ANYNET": {"STEM_TYPE": "simple_stem_in", "STEM_W": 32, "BLOCK_TYPE": "res_bottleneck_block", "DEPTHS": [],
               "WIDTHS": [], "STRIDES": [], "BOT_MULS": [], "GROUP_WS": [], "HEAD_W": 0, "SE_ON": False,
               "SE_R": 0.25},
    "REGNET": {"STEM_TYPE": "simple_stem_in", "STEM_W": 32, "BLOCK_TYPE": "res_bottleneck_block", "STRIDE": 2,
               "SE_ON": False, "SE_R": 0.25, "DEPTH": 10, "W0": 32, "WA": 5.0, "WM": 2.5, "GROUP_W": 16,
               "BOT_MUL": 1.0, "HEAD_W": 0},
    "EN": {"STEM_W": 32, "DEPTHS": [], "WIDTHS": [], "EXP_RATIOS": [], "SE_R": 0.25, "STRIDES": [], "KERNELS": [],
           "HEAD_W": 1280, "DC_RATIO": 0.0, "DROPOUT_RATIO": 0.0},
    "VIT": {"PATCH_SIZE": 16, "STEM_TYPE": "patchify", "C_STEM_KERNELS": [], "C_STEM_STRIDES": [],
            "C_STEM_DIMS": [], "NUM_LAYERS": 12, "NUM_HEADS": 12, "HIDDEN_DIM": 768, "MLP_DIM": 3072,
            "CLASSIFIER_TYPE": "token"},
    "BN": {"EPS": 1e-5, "MOM": 0.1, "USE_PRECISE_STATS": True, "NUM_SAMPLES_PRECISE": 8192,
           "ZERO_INIT_FINAL_GAMMA": False, "USE_CUSTOM_WEIGHT_DECAY": False, "CUSTOM_WEIGHT_DECAY": 0.0},
    "LN": {"EPS": 1e-5, "USE_CUSTOM_WEIGHT_DECAY": False, "CUSTOM_WEIGHT_DECAY": 0.0},
    "OPTIM": {"OPTIMIZER": "sgd", "BASE_LR": 0.1, "MIN_LR": 0.0, "LR_POLICY": "cos", "STEPS": [], "LR_MULT": 0.1,
              "MAX_EPOCH": 200, "MOMENTUM": 0.9, "DAMPENING": 0.0, "NESTEROV": True, "BETA1": 0.9, "BETA2": 0.999,
              "WEIGHT_DECAY": 5e-4, "BIAS_USE_CUSTOM_WEIGHT_DECAY": False, "BIAS_CUSTOM_WEIGHT_DECAY": 0.0,
              "WARMUP_FACTOR": 0.1, "WARMUP_EPOCHS": 0, "EMA_ALPHA": 1e-5, "EMA_UPDATE_PERIOD": 32, "MTA": False},
    "TRAIN": {"DATASET": "", "SPLIT": "train", "BATCH_SIZE": 128, "IM_SIZE": 224, "AUTO_RESUME": True,
              "WEIGHTS": "", "MIXED_PRECISION": False, "LABEL_SMOOTHING": 0.0, "MIXUP_ALPHA": 0.0,
              "CUTMIX_ALPHA": 0.0, "PCA_STD": 0.1, "AUGMENT": ""},
    "TEST": {"DATASET": "", "SPLIT": "val", "BATCH_SIZE": 200, "IM_SIZE": 256, "WEIGHTS": ""},
    "DATA_LOADER": {"NUM_WORKERS": 8, "PIN_MEMORY": True, "MODE": "pytorch"},
    "CUDNN": {"BENCHMARK": True},
    "PREC_TIME": {"WARMUP_ITER": 3, "NUM_ITER": 30},
    "LAUNCH": {"MODE": "local", "MAX_RETRY": 3, "NAME": "pycls_job", "COMMENT": "", "CPUS_PER_GPU": 10,
               "MEM_PER_GPU": 60, "PARTITION": "devlab", "GPU_TYPE": "volta", "TIME_LIMIT": 4200, "EMAIL": ""},
    "FSDP": {"ENABLED": False, "RESHARD_AFTER_FW": True, "LAYER_NORM_FP32": True},
}

TOP_LEVEL: dict[str, object] = {
    "DESC": "", "VERBOSE": True, "NUM_GPUS": 1, "MAX_GPUS_PER_NODE": 8, "OUT_DIR": "/tmp", "CFG_DEST": "config.yaml",
    "RNG_SEED": 1, "LOG_DEST": "stdout", "LOG_PERIOD": 10, "DIST_BACKEND": "nccl", "HOST": "localhost",
    "PORT_RANGE": [10000, 65000], "DOWNLOAD_CACHE": "/tmp/pycls-download-cache",
}

# Keys pycls registers as deprecated: a file may still carry them; pycls ignores them (with a warning).
DEPRECATED = frozenset({"MEM", "MEM.RELU_INPLACE", "OPTIM.GAMMA", "PREC_TIME.BATCH_SIZE", "PREC_TIME.ENABLED",
                        "PORT", "TRAIN.EVAL_PERIOD", "TRAIN.CHECKPOINT_PERIOD"})


def default(path: str):
    """The default of ``SECTION.KEY`` (or a top-level ``KEY``)."""
    section, _, key = path.rpartition(".")
    return SECTIONS[section][key] if section else TOP_LEVEL[key]
