"""Short French news articles written for these tests (no corpus holds French text).

Each names at least one person, one place and one organisation; :data:`EXPECTED` says
which ones the French model must find, typed, once the clean-up has run. The bench of
NER languages (``bench.ner_languages``) reads them too.
"""

from __future__ import annotations

from pathlib import Path

# (title, body) of each article.
ARTICLES = [
    ("Lyon rénove ses écoles",
     "Le maire de Lyon, Grégory Doucet, a présenté mardi un plan de rénovation des écoles "
     "de la ville. La Banque des territoires financera une partie des travaux, selon un "
     "communiqué de la mairie. M. Doucet a précisé que les chantiers commenceraient à la "
     "rentrée et dureraient deux ans."),
    ("Renault ferme une usine",
     "L'entreprise Renault a annoncé la fermeture de son usine de Flins, près de Paris. Les "
     "syndicats, dont la CGT, dénoncent une décision brutale. Le directeur général Luca de "
     "Meo doit s'expliquer devant les salariés la semaine prochaine."),
    ("Sommet à Bruxelles",
     "Le Premier ministre canadien Justin Trudeau est arrivé à Bruxelles pour un sommet avec "
     "les dirigeants européens. L'OTAN et les Nations unies ont salué l'accord conclu sur le "
     "commerce. Selon l'AFP, la réunion a duré plus de six heures."),
    ("Grève à la SNCF",
     "La SNCF a annoncé une grève des contrôleurs ce week-end. Le trafic sera perturbé entre "
     "Bordeaux et Toulouse, a indiqué la direction de l'entreprise ferroviaire. Le ministre "
     "des Transports, Clément Beaune, appelle les syndicats au dialogue."),
    ("Campagne régionale",
     "Les Républicains ont choisi Laurent Wauquiez pour mener la campagne en "
     "Auvergne-Rhône-Alpes. Le Monde rapporte que Marine Le Pen a critiqué ce choix lors "
     "d'un meeting à Nice, samedi soir."),
    ("Un nouveau stade à Marseille",
     "Le club de l'Olympique de Marseille présentera jeudi les plans de son nouveau centre "
     "d'entraînement. Son président, Pablo Longoria, a rencontré le maire Benoît Payan à "
     "l'hôtel de ville pour discuter du financement."),
    ("Airbus recrute à Toulouse",
     "Le constructeur aéronautique Airbus va embaucher trois mille personnes cette année, "
     "principalement à Toulouse et à Hambourg. Guillaume Faury, son président exécutif, l'a "
     "annoncé lors d'une conférence de presse."),
    ("La Croix-Rouge à Lille",
     "La Croix-Rouge a ouvert un centre d'accueil d'urgence à Lille après les inondations. "
     "Martine Aubry, ancienne maire de la ville, a salué le travail des bénévoles. Les "
     "pompiers du Nord restent mobilisés."),
]

# What the French model finds in each, typed (a subset: the model may find more).
EXPECTED = [
    {"person": {"Grégory Doucet"}, "place": {"Lyon"}, "org": {"Banque des territoires"}},
    {"person": {"Luca de Meo"}, "place": {"Flins", "Paris"}, "org": {"Renault", "CGT"}},
    {"person": {"Justin Trudeau"}, "place": {"Bruxelles"}, "org": {"OTAN", "AFP"}},
    {"person": {"Clément Beaune"}, "place": {"Bordeaux", "Toulouse"}, "org": {"SNCF"}},
    {"person": {"Laurent Wauquiez", "Marine Le Pen"}, "place": {"Nice"},
     "org": {"Le Monde"}},
    {"person": {"Pablo Longoria", "Benoît Payan"}, "place": set(),
     "org": {"Olympique de Marseille"}},
    {"person": {"Guillaume Faury"}, "place": {"Toulouse", "Hambourg"}, "org": {"Airbus"}},
    # the small model reads "Croix-Rouge" as a place here; "du Nord" is "Nord"
    {"person": {"Martine Aubry"}, "place": {"Lille", "Nord"}, "org": set()},
]


def texts() -> list[str]:
    """Each article as NER reads it: title, blank line, body."""
    return [f"{title}\n\n{body}" for title, body in ARTICLES]


def write_folder(folder: Path, pairs: bool = False) -> list[Path]:
    """The articles as plain-text files (title, blank line, body) in ``folder``.

    :param pairs: also every ordered pair of two articles as one file (56 more texts,
        each distinct): enough uncached articles for the local pool to start
    """
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for i, text in enumerate(texts()):
        path = folder / f"fr-{i:02d}.txt"
        path.write_text(text + "\n", encoding="utf-8")
        written.append(path)
    if pairs:
        for i, (ti, bi) in enumerate(ARTICLES):
            for j, (_, bj) in enumerate(ARTICLES):
                if i != j:
                    path = folder / f"fr-{i:02d}-{j:02d}.txt"
                    path.write_text(f"{ti}\n\n{bi}\n\n{bj}\n", encoding="utf-8")
                    written.append(path)
    return written
