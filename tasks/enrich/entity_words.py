"""The words entity extraction reads names by: connectors, sentence openers, dates, person titles, organisation
words, and the aliases of countries and organisations. Data only: tasks.enrich.entities holds the rules."""

from __future__ import annotations

# Words that join a capitalised run ("Ministry of the Interior").
CONNECTORS = frozenset({"of", "for", "the", "de", "del", "la", "le", "du", "des", "von", "van", "der", "on"})
# Words that open a sentence or a run without being part of a name.
LEADING = frozenset(
    [
        "the",
        "a",
        "an",
        "in",
        "on",
        "at",
        "for",
        "from",
        "by",
        "but",
        "and",
        "as",
        "after",
        "before",
        "during",
        "despite",
        "meanwhile",
        "following",
        "when",
        "while",
        "with",
        "without",
        "this",
        "that",
        "these",
        "those",
        "there",
        "their",
        "his",
        "her",
        "its",
        "our",
        "we",
        "they",
        "he",
        "she",
        "it",
        "if",
        "so",
        "yet",
        "also",
        "then",
        "former",
        "ex",
        "then-former",
        "late",
    ]
)
# Capitalised like names, never one.
CALENDAR = frozenset(
    [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
    ]
)
# Titles that mark the next name as a person (case-insensitive; longest first).
TITLES = tuple(
    sorted(
        """prime minister|foreign minister|interior minister|defence minister|defense minister|finance minister
        |deputy prime minister|chief diplomat|foreign policy chief|minister|president|vice president|chancellor
        |senator|sen.|rep.|representative|congressman|congresswoman|governor|gov.|mayor|leader|premier|king|queen
        |prince|princess|pope|sheikh|general|gen.|colonel|col.|judge|justice|secretary|secretary-general
        |ambassador|spokesman|spokeswoman|spokesperson|captain|coach|director|chairman|chairwoman|chief
        |executive|ceo|founder|mr|mr.|mrs|mrs.|ms|ms.|dr|dr.|sir|lady|lord|prof.|professor|commissioner
        |envoy|diplomat|lawmaker|mp|deputy|speaker|head|actor|actress|singer|striker|player|star|author
        |journalist|presidente|ministro|ministre|präsident|kanzler|kanzlerin|bundeskanzler|bundeskanzlerin
        |herr|frau|señor|monsieur|madame""".replace("\n", "").split("|"),
        key=lambda t: -len(t),
    )
)
TITLE_SET = frozenset(t.strip() for t in TITLES)
# A word that makes a capitalised run an organisation.
ORG_WORDS = frozenset(
    """ministry|ministries|party|alliance|council|union|commission|agency|bank|court|parliament|government
    |association|federation|university|institute|company|corporation|corp|corp.|inc|inc.|ltd|ltd.|llc|group
    |committee|organisation|organization|police|army|forces|navy|department|office|service|services
    |movement|front|league|assembly|senate|congress|foundation|society|club|fund|authority|bureau|board
    |network|news|times|post|press|agency|airlines|airways|motors|bank|exchange|school|college|hospital
    |church|tribunal|cabinet|coalition|directorate|guard|unit|units|team|fc|nato|un|eu|ministerium|partei
    |bundestag|regierung|ministère|parti|gouvernement|ministerio|partido|gobierno|ministero|partito
    |governo""".replace("\n", "").split("|")
)
# A name followed by one of these is an organisation ("Taliban government").
ORG_AFTER = frozenset({"government", "party", "movement", "coalition", "administration", "group", "militia"})
# An unknown name right after one of these is a place.
PLACE_BEFORE = frozenset({"in", "near", "at", "outside", "around", "across"})
NOUNS_CAPITALISED = frozenset({"de", "lb"})  # German nouns: "in Industriekreisen" is no place
# Country names the gazetteers do not list, or list under another name → ISO 3166 alpha-2.
COUNTRY_ALIASES = {
    "US": "US",
    "U.S.": "US",
    "USA": "US",
    "U.S.A.": "US",
    "United States": "US",
    "America": "US",
    "UK": "GB",
    "U.K.": "GB",
    "Britain": "GB",
    "Great Britain": "GB",
    "England": "GB",
    "Scotland": "GB",
    "Wales": "GB",
    "Russia": "RU",
    "South Korea": "KR",
    "North Korea": "KP",
    "Iran": "IR",
    "Syria": "SY",
    "Vietnam": "VN",
    "Laos": "LA",
    "Bolivia": "BO",
    "Venezuela": "VE",
    "Tanzania": "TZ",
    "Moldova": "MD",
    "Taiwan": "TW",
    "Palestine": "PS",
    "Czech Republic": "CZ",
    "Ivory Coast": "CI",
    "Kosovo": "XK",
}
ORG_ALIASES = {"EU": "European Union", "UN": "United Nations", "U.N.": "United Nations", "NATO": "NATO"}
