"""Enrichment of already-cleaned articles: language, named entities, outlet name.

The indexer runs one :class:`Enricher` per worker process and caches its output under
:attr:`Enricher.version` (and each non-English language's
:func:`~search.ingest.enrich.entities.ner_stamp`), so a change of rules or model
invalidates the cache of the languages it concerns.
"""

from __future__ import annotations

from search.ingest.enrich.entities import CODE_VERSION
from search.ingest.enrich.entities import DEFAULT_MODEL
from search.ingest.enrich.entities import KEY_LANGUAGE
from search.ingest.enrich.entities import NER_LANGUAGES
from search.ingest.enrich.entities import NER_MODELS
from search.ingest.enrich.entities import EntityExtractor
from search.ingest.enrich.entities import model_version
from search.ingest.enrich.language import detect_language
from search.ingest.enrich.outlets import outlet_name
from search.models import Article
from search.models import Entities

# Bump when the language rules or how the parts are combined here change.
ENRICH_VERSION = "1"


def joined_text(article: Article) -> str:
    """The text language detection and NER read: title, caption and body."""
    return _joined(article.title, article.caption, article.body)


def _joined(*parts: str) -> str:
    return "\n\n".join(p for p in parts if p and p.strip())


class Enricher:
    """Language and entities for batches of articles, in this process.

    Each language's NER model is loaded the first time an article in that language
    comes (an English-only archive never loads the French model), then kept: the local
    pool's workers and the Dask workers each hold one enricher (see
    :func:`search.ingest.workers.make_enricher`), so each loads a model at most once.

    :param model: the spaCy pipeline package used for English NER; every other
        language's is in :data:`~search.ingest.enrich.entities.NER_MODELS`
    :param ner: ``False`` skips NER (every article gets empty entities)
    :param extractor: an already loaded English extractor of ``model`` to share, else
        one is loaded on the first English article
    """

    def __init__(self, model: str = DEFAULT_MODEL, ner: bool = True,
                 extractor: EntityExtractor | None = None):
        self.model = model
        self.ner = ner
        self._extractors: dict[str, EntityExtractor] = {}
        if extractor is not None:
            self._extractors[KEY_LANGUAGE] = extractor

    @property
    def version(self) -> str:
        """A cache-key component naming these rules and the English model, without
        loading it (other languages' models are named by
        :func:`~search.ingest.enrich.entities.ner_stamp`, beside each cached row)."""
        ner = f"{model_version(self.model)}-rules{CODE_VERSION}" if self.ner else "no-ner"
        return f"enrich{ENRICH_VERSION}-{ner}"

    @property
    def extractor(self) -> EntityExtractor:
        """The English NER model, loaded on first use."""
        return self.extractor_for(KEY_LANGUAGE)

    def extractor_for(self, lang: str) -> EntityExtractor:
        """The NER model of ``lang`` (one of :data:`NER_LANGUAGES`), loaded on first use.

        :raises ConfigError: when the model cannot be loaded
        """
        found = self._extractors.get(lang)
        if found is None:
            model = self.model if lang == KEY_LANGUAGE else NER_MODELS[lang].package
            found = self._extractors[lang] = EntityExtractor(model, lang)
        return found

    def loaded(self) -> frozenset[str]:
        """The languages whose NER model this enricher has loaded so far."""
        return frozenset(self._extractors)

    def enrich(self, articles: list[Article]) -> list[tuple[str, Entities]]:
        """``(lang, entities)`` for each article, in order.

        The language is read from title, caption and body, unless the article already
        has one (the indexer detects it before the text is written, and sends only the
        entity stage here); NER runs in one batch per language over the articles in
        :data:`NER_LANGUAGES`, reading the whole text, each with its language's model.

        :param articles: articles already through cleanup
        :raises ConfigError: when NER is wanted and a model cannot be loaded
        """
        texts = [_joined(a.title, a.caption, a.body) for a in articles]
        langs = [a.lang if a.lang else detect_language(t) for a, t in zip(articles, texts)]
        entities = [Entities() for _ in articles]
        todo: dict[str, list[int]] = {}
        for i, lang in enumerate(langs):
            if self.ner and lang in NER_LANGUAGES:
                todo.setdefault(lang, []).append(i)
        for lang, indexes in todo.items():
            found = self.extractor_for(lang).extract([texts[i] for i in indexes])
            for i, ents in zip(indexes, found):
                entities[i] = ents
        return list(zip(langs, entities))


def apply(article: Article, lang: str, entities: Entities,
          default_outlet: str | None = None) -> Article:
    """``article`` with its language, entities and outlet display name filled in.

    :param default_outlet: the ``--outlet`` of the index run, for articles naming none
    """
    return article.replace(lang=lang, entities=entities,
                           outlet=outlet_name(article.outlet, article.url, default_outlet))
