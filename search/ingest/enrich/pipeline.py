"""Enrichment of already-cleaned articles: language, named entities, outlet name.

The indexer runs one :class:`Enricher` per worker process and caches its output under
:attr:`Enricher.version`, so a change of rules or model invalidates the cache.
"""

from __future__ import annotations

from search.ingest.enrich.entities import CODE_VERSION
from search.ingest.enrich.entities import DEFAULT_MODEL
from search.ingest.enrich.entities import NER_LANGUAGES
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

    :param model: the spaCy pipeline package used for English NER
    :param ner: ``False`` skips NER (every article gets empty entities)
    :param extractor: an already loaded extractor of ``model`` to share, else one is
        loaded on the first English article
    """

    def __init__(self, model: str = DEFAULT_MODEL, ner: bool = True,
                 extractor: EntityExtractor | None = None):
        self.model = model
        self.ner = ner
        self._extractor = extractor

    @property
    def version(self) -> str:
        """A cache-key component naming these rules and this model, without loading it."""
        ner = f"{model_version(self.model)}-rules{CODE_VERSION}" if self.ner else "no-ner"
        return f"enrich{ENRICH_VERSION}-{ner}"

    @property
    def extractor(self) -> EntityExtractor:
        """The NER model, loaded on first use (a run with no English text never loads it)."""
        if self._extractor is None:
            self._extractor = EntityExtractor(self.model)
        return self._extractor

    def enrich(self, articles: list[Article]) -> list[tuple[str, Entities]]:
        """``(lang, entities)`` for each article, in order.

        The language is read from title, caption and body, unless the article already
        has one (the indexer detects it before the text is written, and sends only the
        entity stage here); NER runs in one batch over the articles in
        :data:`NER_LANGUAGES`, reading the whole text.

        :param articles: articles already through cleanup
        :raises ConfigError: when NER is wanted and the model cannot be loaded
        """
        texts = [_joined(a.title, a.caption, a.body) for a in articles]
        langs = [a.lang if a.lang else detect_language(t) for a, t in zip(articles, texts)]
        entities = [Entities() for _ in articles]
        todo = [i for i, lang in enumerate(langs) if self.ner and lang in NER_LANGUAGES]
        if todo:
            found = self.extractor.extract([texts[i] for i in todo])
            for i, ents in zip(todo, found):
                entities[i] = ents
        return list(zip(langs, entities))


def apply(article: Article, lang: str, entities: Entities,
          default_outlet: str | None = None) -> Article:
    """``article`` with its language, entities and outlet display name filled in.

    :param default_outlet: the ``--outlet`` of the index run, for articles naming none
    """
    return article.replace(lang=lang, entities=entities,
                           outlet=outlet_name(article.outlet, article.url, default_outlet))
