"""FlareClassifier: the flare network behind the scikit-learn classifier API.

The classifier owns its feature transform (signed log + z-score, fitted on the
training rows only), splits off a validation set by region when none is given,
trains ``n_members`` independently seeded members as one vectorised network
(:func:`flarecast.training.loop.train_ensemble`) and averages their probabilities.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from flarecast.data.schema import NOAA_AR
from flarecast.errors import (
    ConfigError,
    DataError,
    DataWarning,
    warn_user,
)
from flarecast.features.transforms import FeatureTransformer
from flarecast.models.build import build_network
from flarecast.training.config import TrainConfig, check_config, skip_path
from flarecast.training.device import resolve_device, torch_threads
from flarecast.training.inputs import binary_labels, feature_matrix, network_inputs
from flarecast.training.loop import batched_auc, train_ensemble
from flarecast.training.loss_functions import build_loss
from flarecast.training.memory import check_training_memory

__all__ = ["FlareClassifier"]

_CHUNK = 65536  # rows per inference pass: bounds memory for big tables
# The parameters' defaults are TrainConfig's (which reads them from LossConfig and NetworkConfig);
# scikit-learn's get_params needs them spelled out in __init__'s signature.
_D = TrainConfig()


def _logistic_start(
    z: np.ndarray, y: np.ndarray, pos_weight: float = 1.0
) -> tuple[np.ndarray, float]:
    """Coefficients and intercept of an L2 logistic regression (C=1) on transformed rows: the linear path's start.

    ``pos_weight`` weights the positive rows, so that "weighted-ce" starts from the linear model of its own
    loss; cross-entropy and focal loss start from the unweighted fit.
    """
    from sklearn.linear_model import LogisticRegression

    weights = np.where(y == 1, float(pos_weight), 1.0)
    model = LogisticRegression(C=1.0, max_iter=2000).fit(z, y, sample_weight=weights)
    return model.coef_[0], float(model.intercept_[0])


class FlareClassifier(ClassifierMixin, BaseEstimator):
    """Neural flare classifier: P(flare >= threshold class) from SHARP features.

    Every parameter shared with :class:`flarecast.training.config.TrainConfig` has
    its default there (loss and network defaults come from
    :class:`~flarecast.training.losses.LossConfig` and
    :class:`~flarecast.models.config.NetworkConfig`).

    Parameters
    ----------
    loss : {"focal", "ce", "weighted-ce"}, default "focal"
        Training loss (a name in :data:`flarecast.training.losses.LOSS_REGISTRY`):
        focal loss (Lin et al. 2017), binary cross-entropy, or cross-entropy
        with positive weight ``n_neg / n_pos`` of the training rows.
    alpha : float in [0, 1] or None, default 0.25
        Focal-loss weight of the flare class (negatives get ``1 - alpha``);
        None is no class weighting.
    gamma : float >= 0, default 2.0
        Focal-loss focusing parameter (finite).
    model : {"mlp", "sequence"}, default "mlp"
        "sequence" reads windows of ``window`` consecutive records of each region
        with a GRU; it needs ``time`` and ``noaa_ar`` columns in ``X``, or each row's own
        earlier snapshots as columns (:func:`flarecast.training.inputs.network_inputs`).
    hidden : tuple of int, default (32, 32)
    activation, skip, dropout, input_noise, weight_decay, lr, batch_size, max_epochs, patience, window,
    early_stopping
        See :class:`flarecast.training.config.TrainConfig`, which holds the same defaults.
    n_members : int, default 1
        Ensemble size; members differ only in their seeds.
    seed : int, default 0
    device : str, default "auto"
    threshold : float or "tss", default 0.5
        Decision threshold of :meth:`predict`. "tss" picks the threshold that
        maximises TSS on the validation rows.
    log : {"auto", "none", "all"}, default "auto"
        Signed-log policy of the :class:`~flarecast.features.transforms.FeatureTransformer`.
    features : sequence of str, optional
        Feature columns to use from a DataFrame ``X``. Default: every column not in
        :data:`flarecast.data.schema.META` (time, region, class columns are metadata).

    Attributes
    ----------
    transformer_ : FeatureTransformer
    classes_ : ndarray, [0, 1]
    n_features_in_ : int
    feature_names_in_ : ndarray of str
    base_rate_ : float
        Fraction of positives among the training rows (validation rows excluded).
    best_epoch_ : ndarray of int, shape (n_members,)
    history_ : dict of str -> ndarray (n_epochs, n_members)
        Per-epoch "train_loss", "val_loss" and "val_auc"; NaN after a member stopped.
    threshold_ : float
    validation_ : dict
        Ensemble "auc", mean "loss", "n" rows and "base_rate" of the validation rows.
    net_ : torch.nn.Module
    device_ : torch.device
    """

    def __init__(
        self,
        loss: str = _D.loss,
        alpha: float | None = _D.alpha,
        gamma: float = _D.gamma,
        model: str = _D.model,
        hidden: tuple[int, ...] = _D.hidden,
        activation: str = _D.activation,
        skip: str | None = _D.skip,
        dropout: float = _D.dropout,
        input_noise: float = _D.input_noise,
        weight_decay: float = _D.weight_decay,
        lr: float = _D.lr,
        batch_size: int = _D.batch_size,
        max_epochs: int = _D.max_epochs,
        patience: int = _D.patience,
        n_members: int = _D.n_members,
        seed: int = _D.seed,
        device: str = _D.device,
        threshold: float | str = 0.5,
        log: str = "auto",
        window: int = _D.window,
        early_stopping: str = _D.early_stopping,
        cpu_threads: int | None = _D.cpu_threads,
        features: Sequence[str] | None = None,
    ):
        self.loss = loss
        self.alpha = alpha
        self.gamma = gamma
        self.model = model
        self.hidden = hidden
        self.activation = activation
        self.skip = skip
        self.dropout = dropout
        self.input_noise = input_noise
        self.weight_decay = weight_decay
        self.lr = lr
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.n_members = n_members
        self.seed = seed
        self.device = device
        self.threshold = threshold
        self.log = log
        self.window = window
        self.early_stopping = early_stopping
        self.cpu_threads = cpu_threads
        self.features = features

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False  # flare or no flare
        tags.input_tags.allow_nan = False
        return tags

    # -- configuration -------------------------------------------------------------------------
    def train_config(self) -> TrainConfig:
        """The :class:`TrainConfig` these parameters describe (validated)."""
        names = {f.name for f in dataclasses.fields(TrainConfig)}
        params = {k: v for k, v in self.get_params().items() if k in names}
        params["hidden"] = tuple(int(h) for h in np.atleast_1d(params["hidden"]))
        config = TrainConfig(**params)
        check_config(config)
        t = self.threshold
        if not (
            t == "tss" or (isinstance(t, int | float) and not isinstance(t, bool) and 0 <= t <= 1)
        ):
            raise ConfigError(
                f"The 'threshold' parameter of FlareClassifier must be a float in [0, 1] or 'tss'. "
                f"Got {t!r} instead."
            )
        return config

    # -- input handling ------------------------------------------------------------------------
    def _matrix(self, X: Any, fitting: bool) -> np.ndarray:
        """Raw feature matrix (n, F) in model order, checked for shape, names and finiteness."""
        if fitting:
            names = None if self.features is None else [str(f) for f in self.features]
        else:
            names = list(self.feature_names_in_)
        arr, names = feature_matrix(X, names)
        if fitting:
            self.feature_names_in_ = np.asarray(names, dtype=object)
            self.n_features_in_ = len(names)
        return arr

    # -- fit -----------------------------------------------------------------------------------
    def _split(self, X: Any, y: np.ndarray, groups: Any) -> tuple[np.ndarray, np.ndarray]:
        """Training and validation row indices when no validation set is given: by region."""
        if groups is None and isinstance(X, pd.DataFrame) and NOAA_AR in X.columns:
            groups = X[NOAA_AR].to_numpy()
        if groups is not None:
            from flarecast.splits import inner_validation

            return inner_validation(
                y, np.asarray(groups), np.arange(len(y)), fraction=0.2, seed=self.seed
            )
        # No regions known: hold out the last 20% of rows as one block (time-ordered tables keep
        # it chronological), never random rows, which would leak near-duplicate records.
        warn_user(
            "FlareClassifier.fit got no groups and no validation set: early stopping uses the last 20% "
            "of the rows as validation. Pass groups= (NOAA AR numbers) to split by region.",
            DataWarning,
        )
        cut = int(round(0.8 * len(y)))
        return np.arange(cut), np.arange(cut, len(y))

    def fit(
        self,
        X: Any,
        y: Any,
        groups: Any = None,
        validation: tuple[Any, Any] | None = None,
        callback: Callable[[int, dict[str, Any]], None] | None = None,
        checkpoint: Any = None,
    ) -> FlareClassifier:
        """Fit the transform and train the ensemble, early-stopping each member on the validation rows.

        Parameters
        ----------
        X : DataFrame or ndarray, shape (n, F)
            Raw (untransformed) features. DataFrame columns in ``META`` are metadata, not features.
        y : array-like of 0/1, shape (n,)
        groups : array-like, shape (n,), optional
            Region of each row; used to split off the validation rows by region when
            ``validation`` is None. Default: ``X["noaa_ar"]`` when present.
        validation : (X_val, y_val), optional
            Explicit validation rows; then all of ``X`` is used for training.
        callback : callable, optional
            Per-epoch progress hook, see :func:`flarecast.training.loop.train_ensemble`.
        checkpoint : flarecast.training.checkpoint.Checkpoint, optional
            Save the training state after every epoch and resume from it (see
            :func:`flarecast.training.loop.train_ensemble`); the same data and
            parameters give the same model as an uninterrupted fit.

        Returns
        -------
        self
        """
        config = self.train_config()
        raw = self._matrix(X, fitting=True)
        y = binary_labels(y)
        if len(y) != len(raw):
            raise DataError(f"FlareClassifier: X has {len(raw)} rows but y has {len(y)}")
        if validation is None:
            tr, va = self._split(X, y, groups)
            X_tr, X_va = (
                (X.iloc[tr], X.iloc[va]) if isinstance(X, pd.DataFrame) else (raw[tr], raw[va])
            )
            raw_tr, raw_va, y_tr, y_va = raw[tr], raw[va], y[tr], y[va]
        else:
            X_tr, raw_tr, y_tr = X, raw, y
            X_va, y_va = validation
            raw_va, y_va = self._matrix(X_va, fitting=False), binary_labels(y_va, "y_val")
            if len(raw_va) != len(y_va):
                raise DataError(
                    f"FlareClassifier: validation X has {len(raw_va)} rows but y has {len(y_va)}"
                )
        for name, labels in (("training", y_tr), ("validation", y_va)):
            if labels.min(initial=1) == labels.max(initial=0) or len(labels) == 0:
                raise DataError(
                    f"FlareClassifier: the {name} rows hold only one class ({len(labels)} rows, "
                    f"{int(labels.sum())} positives); both flares and non-flares are needed"
                )

        self.classes_ = np.array([0, 1])
        self.transformer_ = FeatureTransformer(
            feature_names=list(self.feature_names_in_), log=self.log
        ).fit(raw_tr)
        self.base_rate_ = float(y_tr.mean())
        self.device_ = resolve_device(config.device)
        check_training_memory(config, len(y_tr), len(y_va), self.n_features_in_, self.device_)
        arch = {
            "kind": config.model,
            "n_features": self.n_features_in_,
            "hidden": list(config.hidden),
            "n_members": config.n_members,
            "activation": config.activation,
        } | ({"skip": True} if skip_path(config) != "none" else {})
        self.net_ = build_network(
            arch, dropout=config.dropout, base_rate=self.base_rate_, seed=config.seed
        )
        z_tr = self.transformer_.transform(raw_tr)
        loss = config.loss_config()
        if skip_path(config) == "logistic":
            weigh = loss.spec.positive_weight
            weight = 1.0 if weigh is None else weigh(self.base_rate_)
            self.net_.start_linear(*_logistic_start(z_tr, y_tr, weight))
        self._loss_fn = build_loss(loss, self.base_rate_)
        with torch_threads(config.cpu_threads, self.device_):
            result = train_ensemble(
                self.net_,
                network_inputs(X_tr, raw_tr, self.model, self.window, self.transformer_),
                torch.from_numpy(y_tr),
                network_inputs(X_va, raw_va, self.model, self.window, self.transformer_),
                torch.from_numpy(y_va),
                self._loss_fn,
                config,
                self.device_,
                callback=callback,
                checkpoint=checkpoint,
            )
        self.best_epoch_ = result.best_epoch
        self.history_ = result.history
        self.fit_seconds_ = result.seconds

        logits = self._member_logits(X_va, fitted=True)
        p_va = torch.sigmoid(torch.from_numpy(logits)).mean(0).numpy()
        member_loss = self._loss_fn(
            torch.from_numpy(logits), torch.from_numpy(y_va).double().expand(len(logits), -1)
        )
        self.validation_ = {
            "n": len(y_va),
            "base_rate": float(y_va.mean()),
            "auc": float(batched_auc(torch.from_numpy(p_va)[None], torch.from_numpy(y_va))[0]),
            "loss": float(member_loss.mean()),
        }
        self.threshold_ = (
            _best_tss_threshold(p_va, y_va) if self.threshold == "tss" else float(self.threshold)
        )
        return self

    # -- prediction ----------------------------------------------------------------------------
    def _member_logits(self, X: Any, fitted: bool = False) -> np.ndarray:
        if not fitted:
            check_is_fitted(self, "net_")
        raw = self._matrix(X, fitting=False)
        inputs = network_inputs(X, raw, self.model, self.window, self.transformer_)
        self.net_.eval()
        out = []
        autocast = torch.autocast(
            device_type="cuda", dtype=torch.bfloat16, enabled=self.device_.type == "cuda"
        )
        with torch.inference_mode(), autocast, torch_threads(self.cpu_threads, self.device_):
            for start in range(0, max(len(raw), 1), _CHUNK):
                chunk = [t[start : start + _CHUNK].to(self.device_) for t in inputs]
                out.append(self.net_(*chunk).float().cpu())
        return torch.cat(out, dim=1).double().numpy()

    def decision_function(self, X: Any) -> np.ndarray:
        """Logit of the ensemble probability (of :meth:`predict_proba`), shape (n,).

        Not the mean member logit: that ranks rows differently from the mean
        probability, and a ROC curve from ``decision_function`` must match one
        from ``predict_proba``. Computed as ``log p - log(1 - p)`` with
        ``1 - p`` from the members' ``sigmoid(-logit)``, so it stays finite and
        exact where ``p`` rounds to 1.
        """
        logits = self._member_logits(X)
        p = _sigmoid(logits).mean(axis=0)
        q = _sigmoid(-logits).mean(axis=0)
        with np.errstate(divide="ignore"):
            return np.log(p) - np.log(q)

    def predict_proba_members(self, X: Any) -> np.ndarray:
        """P(flare) of each member, shape (n_members, n)."""
        return _sigmoid(self._member_logits(X))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Mean member probability as [P(no flare), P(flare)], shape (n, 2)."""
        p = self.predict_proba_members(X).mean(axis=0)
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        """1 where P(flare) >= ``threshold_``, shape (n,)."""
        return (self.predict_proba(X)[:, 1] >= self.threshold_).astype(np.int64)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):  # exp overflows to inf for z < -709: the result is 0, exactly
        return 1.0 / (1.0 + np.exp(-z))


def _best_tss_threshold(p: np.ndarray, y: np.ndarray) -> float:
    """Threshold maximising TSS = TPR - FPR over the distinct validation probabilities."""
    order = np.argsort(-p, kind="stable")
    ps, ys = p[order], y[order]
    tpr = np.cumsum(ys) / max(ys.sum(), 1)
    fpr = np.cumsum(1 - ys) / max((1 - ys).sum(), 1)
    last = np.r_[ps[1:] != ps[:-1], True]  # only cut between distinct values
    tss = np.where(last, tpr - fpr, -np.inf)
    return float(ps[int(np.argmax(tss))])
