"""What a question asks for, read without an LLM: the kind of answer, the thing asked about, and the
attribute wanted of it.

The extractive answerer answers only with a sentence that carries the asked-for attribute of the
asked-about subject, whatever the wording; this module says what those are. Word lists here name
kinds of answers (a number, an expansion, the parts of a method, a detail abstracts rarely state),
not questions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum

from qa.index.bm25 import tokenize
from qa.papers import MONTH_RE, NAMELIKE_RE, namelike


class Kind(Enum):
    """The kind of answer a question wants."""

    NUMBER = "number"          # how many / how much / what score / what size
    EXPANSION = "expansion"    # what does ABC stand for
    PARTS = "parts"            # the stages / modules / components of a method
    LIST = "list"              # which papers / works ... (one line per paper)
    SUMMARY = "summary"        # what is X about / what does arXiv:ID find
    OTHER = "other"            # a fact, a mechanism, a definition


# Words that say what kind of question it is, not what it is about.
QUESTION_WORDS = set(tokenize([
    "paper papers work works study studies abstract abstracts arxiv article articles report describe describes "
    "described say says said discuss discusses discussed propose proposes proposed introduce introduces introduced "
    "present presents presented main find finds found findings tell about corpus which what how why does do did is "
    "are was were be been being many much get gets got come comes reach reaches reached use uses used using give "
    "gives given contain contains cover covers covered involve involves summarise summarize summary overview explain "
    "explains outline outlines key new show shows shown according mention mentions mentioned conclusion conclusions "
    "conclude concludes result results contribution contributions goal idea purpose approach topic created dated "
    "dates date collection from in on of for to with the a an please me list enumerate name names identify give "
    "state tell describe "
    "can could would should will may might there their its it itself themselves they them this that these those any "
    "some such "
    "also and or but if than then so as at by into onto via per each every all both either whose whom who whats "
    "exactly specifically actually reported report reports reporting mentioned respectively one ones model models "
    "hold holds held include includes included appear appears appeared came out release released publish "
    "published submit submitted post posted month year brief briefly discover discovers put forward "
    "particular particularly especially really always ever good well better best able available series family "
    "anything something everything when you your "
    "offer offers offered provide provides exist exists existing whole overall generally typically "
    "exactly precisely approximately roughly around about regarding concerning change changed changes differ "
    "differs difference differences compare compared comparison versus vs evolve evolved switch switching turning "
    "moving submission submissions preprint preprints here went go goes going tried try tries trying"
])[0])
# Words naming a kind of attribute, not the attribute itself ("what sizes", "which two losses").
GENERIC_TERMS = set(tokenize([
    "size sizes number numbers amount kind kinds type types version versions variant variants mode modes way ways "
    "thing things level levels over under different role effect impact importance significance aim benefit "
    "advantage difference relationship relation meaning definition point focus scope value values figure figures "
    "score scores much big large long fast high low range total count data measure measures measured against "
    "largest biggest smallest maximum minimum max min"  # which of the sizes: the sentence giving them says
    " coverage"  # "language coverage": the languages covered
])[0])
# Generic words that are the thing counted when a word before them says which ("preference data").
HEAD_NOUNS = ("data",)
# The parts of a method or system: such a question wants the sentence that names them.
PART_WORDS = set(tokenize([
    "stage stages step steps phase phases component components module modules part parts role roles element "
    "elements pipeline architecture factor factors dimension dimensions category categories ingredient "
    "ingredients mechanism mechanisms strategy strategies technique techniques innovation innovations design"
])[0])
COUNT_WORDS = {"two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "both"}  # how many, not what
NUMBER_WORDS = COUNT_WORDS | {"first", "second", "third", "fourth", "fifth"}

# Details abstracts rarely state: (what the question says, what a sentence must have to state it).
# A question asking for one is answered only by a sentence with that evidence, or refused.
_YEAR = r"\b(?:19|20)\d\d\b"
MONTHS = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*"  # a month's name or its abbreviation
_VALUE = r"{0}\W{{0,3}}(?:(?:of|is|was|=|to|set to)\s+)?(?:about\s+)?\d|\d[\d,.]*(?:e-?\d+)?\s*(?:\w+\s+){{0,2}}{0}"
LINEAGE = r"predecessor|\bprevious\b|\bprior\b|\bearlier\b|upgrade (?:from|over)|advancement over|succe(?:ssor|eds)"
_MONEY = r"\$\s?\d|\d\s?(?:dollars?|usd|cents?|yuan|rmb|euros?)\b|\bpric(?:e|es|ed|ing)\b"
OPENNESS = r"licen[cs]|apache|open[\s-]?sourc|open[\s-]weight|publicly (?:available|accessible|released)"
UNSTATED: list[tuple[str, str]] = [
    # a setting's evidence is its value: "tolerates larger learning rates" does not say which one was used
    (r"learning[\s-]rates?", _VALUE.format(r"learning[\s-]rates?")),
    (r"batch[\s-]?sizes?", _VALUE.format(r"batch(?:[\s-]?sizes?)?")),
    (r"optimi[sz]ers?|optimi[sz]ation algorithm", r"optimi[sz]er|\badam"),
    (r"warm[\s-]?up", _VALUE.format(r"warm[\s-]?up(?:\s+steps)?")),
    (r"weight decay", _VALUE.format(r"weight decay")),
    (r"epochs?", _VALUE.format(r"epochs?")),
    (r"dropout", _VALUE.format(r"dropout(?:\s+rate)?")),
    # "what entropy threshold did they use": a setting's value
    (r"(?:what|which)\s+(?:\w+\s+){0,2}thresholds?|thresholds?\s+(?:value|setting)s?",
     _VALUE.format(r"thresholds?")),
    (r"(?:learning[\s-]rate |lr )?schedul(?:e|es|er|ing)", r"schedul"),
    (r"hyper[\s-]?parameters?", r"hyper[\s-]?parameter"),
    (r"epsilon|clip(?:ping)?[\s-](?:range|ratio|threshold|value|bound)s?",
     r"epsilon|\u03b5|clip(?:ping)?[\s-](?:range|ratio|threshold|bound)"),
    (r"kl[\s-](?:coefficient|penalty|weight)s?|beta[\s-](?:coefficient|value)s?", r"\bkl\b|kullback|\u03b2|\bbeta\b"),
    (r"(?:sampling|decoding|generation)[\s-]temperatures?|temperature[\s-](?:setting|value)s?|top[\s-]?[pk]",
     r"temperature|top[\s-]?[pk]\b"),
    (r"momentum|gradient[\s-](?:clipping|norm)", r"momentum|gradient[\s-](?:clipping|norm)"),
    (r"random seeds?|seeds?", r"\bseed"),
    (r"gpus?|tpus?|(?:which|what)\s+(?:\w+\s+)?(?:cpus?|processors?)|hardware|accelerators?|a100s?|h100s?|chips?|"
     r"on (?:arm|x86|intel|amd|apple silicon)|x86(?:-64)?",
     r"\bgpu|\btpu|\bcpu|processor|hardware|accelerator|a100|h100|h800|\bintel\b|\bamd\b|\barm\b|xeon|epyc|avx|neon"),
    (r"compute budget|flops budget|gpu[\s-]hours", r"budget|gpu[\s-]hours|flop"),
    (r"training time|wall[\s-]?clock|how long did (?:it|they|the \w+) (?:take|train)|how long (?:was|were) \w+ trained"
     r"|(?:hours|days|weeks) (?:of|did|does|to) train\w*|took to train", r"\bhours?\b|\bdays?\b|\bweeks?\b"),
    # "the authors call their method ...": the authors do something, the paper says it; not who they are
    (r"authors?(?!\s+(?:call|name|propose|find|found|show|use|used|claim|introduce|report|say|describe|evaluate|compare|"
     r"train|trained|build|built|obtain|achieve|argue|suggest|conclude|observe|present|study|test|measure)\b)|"
     r"authored|wrote|written by|writers?", r"\bauthor"),
    (r"affiliat\w+|institutions?|universit(?:y|ies)|organi[sz]ations?|compan(?:y|ies)(?!\s+(?:use|deploy|adopt)\b)|labs?\b|employer",
     r"affiliat|institut|universit|\blab\b|laborator|company|team"),
    (r"fund(?:ed|ing|s)?|grants?|sponsor\w*", r"fund|grant|sponsor"),
    (r"prices?|pricing|cost(?:s)? per|how much (?:does|did|do|would|will) .* cost|(?:what|which) (?:is|are|was|were) "
     r"(?:the |its |their )?(?:\w+ )?costs?(?! (?:reduction|savings?|efficien\w*))|cost (?:in|of) (?:dollars|money)|"
     r"dollars?|fees?|subscription", _MONEY),  # a price asked for, not "reduces inference costs"
    # "can a company use them freely?": what the license allows
    (r"licen[cs]e[ds]?|licensing|terms of use|use (?:[\w.\-]+\s+){1,3}?(?:freely|commercially|for free)|"
     r"commercial use", r"licen[cs]|apache|\bmit\b|cc[\s-]by"),
    (r"venue|conference|journal|workshop|accepted at|published (?:at|in)(?! (?:19|20)\d\d|\s+\w+\s+(?:19|20)\d\d)",
     r"conference|journal|workshop|venue|accepted|proceedings"),
    # "is it open source?": what its license or release says
    (r"open[\s-]?sourced?\s*\??\s*$|open[\s-]weights?\s*\??\s*$|(?:is|are)\s+(?:it|they|\S+)\s+(?:publicly\s+)?"
     r"(?:open|available)(?:\s+to\s+(?:download|use))?\s*\??\s*$", OPENNESS),
    (r"vocabular(?:y|ies)(?: size)?|vocab size", r"vocabular"),
    # a Mixture-of-Experts model's active parameters: "22B activated parameters", "235B-A22B"
    (r"(?:active|activated)\s+param\w*", r"\bactiv\w*\s+param|\bA\d+(?:\.\d+)?B\b"),
    (r"e-?mail|contact", r"@|e-?mail|contact"),
    (r"carbon|co2|emissions?|energy (?:use|consumption)|electricity", r"carbon|co2|emission|energy|kwh"),
    (r"citations?|cited by|h-index", r"citation|cited"),
    # "what model did it succeed?": what came before, which abstracts call its predecessor
    (r"(?:what|which)\b.*\b(?:succeed(?:s|ed)?|supersede[sd]?|replace[sd]?|precede[sd]?|came before|"
     r"(?:improve[sd]?|upgrade[sd]?|advance[sd]?) (?:up)?on|upgrade[sd]? from)\s*\?|"
     r"\b(?:prior|previous|earlier|preceding|older) (?:version|generation|release|model|series)", LINEAGE),
    # "When was X released?", "release when?"; not "When you pick examples, what ..." (a clause)
    (r"^\s*when\s+(?:exactly\s+|precisely\s+|roughly\s+)?(?:is|was|were|are|did|does|do|will|has|had|can|could)\b|"
     r"when\s*\?\s*$|what year|which year|"
     r"what date|which date|on what day|release date|publication date",
     rf"{_YEAR}|\b{MONTHS}\b"),
    (r"^\s*where\s+(?:is|are|was|were)\s+(?:the\s+)?(?:team|authors?|lab|company|group)\b|which country|"
     r"which city|what country|what city|based where", r"countr|\bcity|located|based in"),
    # "Who wrote X?", "whose model is it?"; not "talking heads whose lips move" (a relative clause)
    # ... and not "who did best on it?" (which model scored best)
    (r"^\s*who\b(?!\s+(?:did|does|do|performed|performs|scored|scores|won|wins|came|comes|ranked|ranks|topped|tops|"
     r"leads|led)\s+(?:best|better|worst|worse|well|first|top|highest|lowest|the best)\b)(?!\s+(?:won|wins|leads|led|"
     r"topped|tops|outperformed|outperforms|beat|beats)\b)|whom\b|^\s*whose\b",
     r"\bauthor|\bteam\b|universit|institut|laborator"),
]
# Evidence that is itself the answer ("under Apache 2.0", "$0.5 per hour"): a sentence with it states the detail
# asked for, whatever its other words.
NAMING_EVIDENCE = {r"licen[cs]|apache|\bmit\b|cc[\s-]by", _MONEY, LINEAGE, OPENNESS}
_UNSTATED = [(re.compile(rf"(?<![\w\-])(?:{asked})(?![\w\-])", re.IGNORECASE), re.compile(evidence, re.IGNORECASE))
             for asked, evidence in UNSTATED]

_NUMBER_RE = re.compile(
    r"\bhow (?:many|much|fast|large|big|long|high|low|often|far|small)\b"
    r"|(?<![\w\-])(?:score|scores|scored|scoring|percent|percentage|speedups?|speed-ups?|number of|count of|"
    r"accuracy|ratio|elo|sizes?|amount of|win rate|error rate|perplexity|latency|throughput|dimension|dimensionality|"
    r"(?:what|which) (?:is|are|was|were) (?:the|its|their) (?:[\w\-]+ ){0,2}errors?(?=\s*\?$)|"
    r"(?:what|which) (?!(?:kinds?|types?|sorts?)\b)(?:[\w\-]+ ){1,3}(?:error|loss) "
    r"(?=(?:does|do|did|can|could|will|would)\b)|"  # "what lip vertex error does it reach"
    r"by what factor|what fraction|what share|what proportion|what portion|ranges?|span|spans|"
    r"(?:biggest|largest|smallest)\s+(?:[\w\-]+\s+)?(?:models?|variants?|versions?|sizes?)|"  # a size asked for
    r"(?!(?:[a-z]+ly|do|does|did|not|also|still|that|which|who|they|it|what|really|truly)\s)[a-z]+ counts?"
    r"(?=\s*(?:[?.,;]|$|and\b))|depth|(?:size|length|depth|count) in)\b",  # "layer count?", not "words count"
    re.IGNORECASE,
)
_EXPANSION_RE = re.compile(
    r"\b(?:stand|stands)\s+for\b|\bshort\s+for\b|\babbreviat\w*|\bacronym\b|\bfull\s+(?:name|form)\b"
    r"|\bexpan(?:d|sion)\b|\bspell(?:s|ed)?\s+(?:\w+\s+)?out\b|\bmeaning of (?-i:[A-Z][A-Za-z]*[A-Z])\b"
    r"|\b(?:does|do)\s+(?:the\s+(?:name|acronym|abbreviation)\s+)?(?-i:[A-Z][A-Za-z]*[A-Z])\s+(?:refer\s+to|mean)\b",
    re.IGNORECASE,
)
_LIST_RE = re.compile(
    # "what did this collection publish in May 2025?", "what came out in June?": its papers
    r"^\s*what\s+(?:did|does|has)\s+(?:this|the)\s+(?:collection|corpus|set)\s+(?:publish|contain|hold|have)\b"
    r"|^\s*what\s+(?:else\s+)?(?:came out|was published|got published|appeared|was released|was posted)\b|"
    r"^\s*(?:which|what|list|name|identify|show|give|find|enumerate)\b.{0,60}?\b(?:papers|works|studies|articles|"
    r"abstracts|reports|publications|submissions|preprints)\b"
    r"|\b(?:which|what) (?:paper|work|study|article|report)s?\b.{0,30}\b(?:corpus|collection)\b"
    r"|^\s*(?:which|what|list|name)\s+(?:\w+\s+)?(?:benchmarks|datasets)\b"
    r"|^\s*(?:list|name|show|give|enumerate|find)\s+(?:me\s+)?(?:every|each|all(?: the)?)\s+(?:\w+\s+)?"
    r"(?:paper|work|study|article|publication|preprint|submission)\b"
    r"|\b(?:papers|works|studies|articles|abstracts|publications|submissions|preprints)\b[^?]{0,40}:"
    r"\s*which(?: ones)?\b"
    r"|^\W*(?:the\s+|all\s+)?(?:papers|works|studies|articles|abstracts|publications|submissions|preprints)\s+"
    r"(?:that\s+|which\s+)?(?:[a-z]+ing|use|mention|report|evaluate|compare|cite|study|propose)\b"
    r"|^\W*(?:the\s+|all\s+)?(?:papers|works|studies|articles|abstracts|publications|submissions|preprints)"
    r"(?:\s+(?:in|of|from)\s+the\s+(?:corpus|collection))?\W*$"
    # a search box's words: "anything on long context?", "list everything posted in June 2025", "what came out in May?"
    r"|^\W*(?:(?:is|are) there\s+|(?:do|does) (?:it|the corpus|the collection) have\s+)?(?:anything|something)\s+"
    r"(?:(?:new|recent|here|else)\s+)?(?:on|about|from|regarding|related to|dealing with|posted|published|released)\b"
    r"|^\s*(?:list|show|give)\s+(?:me\s+)?(?:everything|anything|all)\s+(?:that\s+)?(?:was\s+)?"
    r"(?:posted|published|released|submitted|from|in|on|about)\b"
    r"|^\s*what\s+(?:else\s+)?(?:came out|was (?:posted|published|released)|appeared)\b",
    re.IGNORECASE,
)
_SUMMARY_RE = re.compile(
    r"^\s*(?:what|which)\s+(?:is|are|was|were)\s+(?:the\s+)?(?:main\s+|key\s+|central\s+)?(?:idea|point|"
    r"contribution|contributions|finding|findings|conclusion|conclusions|takeaway|takeaways|result|results|"
    r"claim|claims|message|gist)\b"
    r"|\b(?:about|summar\w+|overview|gist|tl;?dr)\b\W*$|^\s*(?:summar\w+|describe|explain)\b"
    r"|^\s*what(?:'s|\u2019s|\s+is)\s+(?:actually\s+|really\s+)?(?:new|novel)\b"  # "what's new in Qwen3 (vs ...)?"
    r"|^\s*(?:an?\s+|the\s+)?(?:short\s+|brief\s+|quick\s+)?(?:summary|overview|rundown)\s+of\b"
    r"|\bwhat does\b.*\b(?:find|show|propose|present|introduce|conclude|report|argue|claim)\W*$"
    r"|\b(?:discover|discovers|put forward|puts forward|in brief|in short|contribute|contributes)\W*$",
    re.IGNORECASE,
)
# "arXiv:2501.01257", "arXiv 2501.01257", "arxiv id 2501.01257", "2501.01257v2": an ID that filters the search.
_ID_OR_YEAR_RE = re.compile(r"\barXiv(?::\s*|\s+(?:id\s*:?\s*)?)(?=\S*\d)\S+|\b\d{4}\.\d{4,5}(v\d+)?\b|\b(19|20)\d\d\b",
                            re.IGNORECASE)
_ACRONYM_RE = re.compile(r"\b([A-Z][A-Za-z0-9]*[A-Z][A-Za-z0-9\-]*)\b")


@dataclass(frozen=True)
class Question:
    """A question as the extractive answerer reads it."""

    text: str                  # the question without the IDs and dates that only filter the search
    kind: Kind
    names: list[str]           # names in it (Qwen3, GPT-4o, MMLU)
    terms: list[str]           # its informative stems (not question words)
    unstated: list[re.Pattern[str]] = field(default_factory=list)  # evidence of rarely-stated details asked
    acronym: str | None = None  # the acronym an expansion question asks about
    count: int | None = None    # "the three stages": how many parts are asked for
    names_papers: bool = False  # a list question that says "papers" (or works, studies) outright
    proper: list[str] = field(default_factory=list)  # other proper nouns ("Numpy", "Chinchilla"): to be mentioned
    focus: list[str] = field(default_factory=list)  # stems of the thing asked for ("how many layers": layer)
    names_asked: bool = False  # it asks which named things ("which models does X include"): the answer names one
    described: list[str] = field(default_factory=list)  # stems describing the paper asked about ("the gated
    # attention study": gate, attent): they pick the paper, and are not what is asked of it

    def new_names(self, sentence: str) -> list[str]:
        """The names in `sentence` that the question does not say (an answer to "which models..." names one);
        not the words an acronym abbreviates ("Large Language Models (LLMs)")."""
        said = self.text.lower()
        spelled = {m.group(1) for m in _SPELLED_OUT_RE.finditer(sentence)}
        found = [*entities(sentence), *proper_nouns(sentence, [])]
        return [n for n in found if n.lower() not in said and n not in spelled]

    def attribute_terms(self, subjects: list[str] | None = None) -> list[str]:
        """Its stems other than the names of its subjects (default: all its names) and generic words."""
        if self.kind is Kind.EXPANSION:
            return []
        name_stems = set(tokenize([" ".join(self.names if subjects is None else subjects)])[0])
        named = set(tokenize([" ".join(self.names)])[0]) - name_stems  # "AIME" stems to "aim", not a generic word
        if self.kind is Kind.PARTS:
            name_stems |= PART_WORDS  # the sentence naming the parts need not say "stages"
        counts = set() if self.kind is Kind.PARTS else COUNT_WORDS  # "the two stages" are named with their count
        return [t for t in self.terms if t not in name_stems and t not in counts and t not in self.described
                and (t not in GENERIC_TERMS or t in named)]


_PREFIXED_RE = re.compile(r"\b(pre|post|re|co|multi|non|sub|self|inter|intra|over|under)-(?=[a-z])", re.IGNORECASE)


def words_of(text: str) -> list[str]:
    """The stemmed words of `text`, "pre-training" read as "pretraining" (abstracts write it both ways)."""
    return tokenize([_PREFIXED_RE.sub(r"\1", text)])[0]


# Words typed clipped ("qwen3 param range?"), as abstracts write them out.
CLIPPED = {"param": "parameter", "params": "parameters", "hparams": "hyperparameters",
           "hyperparams": "hyperparameters", "perf": "performance", "eval": "evaluation", "evals": "evaluations",
           "dim": "dimension", "dims": "dimensions", "lang": "language", "langs": "languages", "ctx": "context",
           "arch": "architecture", "config": "configuration", "configs": "configurations", "info": "information",
           "stats": "statistics", "approx": "approximately"}
_CLIPPED_RE = re.compile(rf"(?<![\w\-])(?:{'|'.join(CLIPPED)})(?![\w\-])")


def unclipped(question: str) -> str:
    """`question` with the words it clips written out ("param range" -> "parameter range"); lower case only, so
    a name is left alone.

    >>> unclipped("qwen3 param range, and how many langs?")
    'qwen3 parameter range, and how many languages?'
    """
    return _CLIPPED_RE.sub(lambda m: CLIPPED[m.group()], question)


# The words a chat turn changes the topic with ("unrelated:", "switching topic \u2014", "another question:").
TOPIC_CHANGE = (r"(?:switching|changing|turning|moving)(?:\s+(?:to\s+)?(?:topics?|subjects?|gears|on))?|unrelated|"
                r"(?:a\s+)?(?:new|different|another|separate|unrelated|other|next)\s+(?:topic|question|one|subject)|"
                r"on another note")
# What a chat turn may open with before its question: an acknowledgement ("ok then,", "thanks."), a change of
# topic.
_LEAD_IN_RE = re.compile(
    r"^\s*(?:(?:(?:ok(?:ay)?|alright|all right|right|thanks|thank you|great|cool|nice|got it|i see|sure|fine|"
    r"perfect|understood|noted)"
    r"(?:\s+(?:then|so|now))?|by the way|btw|also|one more(?: thing| question)?|quick (?:one|question)|"
    rf"{TOPIC_CHANGE})\s*(?:[:,.;!\u2014\u2013]|\s-+)\s*)+(?=\S)", re.IGNORECASE)


def without_lead_in(question: str) -> str:
    """`question` without what a chat turn opens with before asking.

    >>> without_lead_in("ok then, which paper is about X?"), without_lead_in("switching topic \u2014 qwen2.5-vl sizes?")
    ('which paper is about X?', 'qwen2.5-vl sizes?')
    """
    return _LEAD_IN_RE.sub("", question)


def _former_latter(question: str) -> str:
    """"PolyMath and MTR-Bench: how many languages does the former span?": the names for "the former" and "the
    latter"."""
    if not re.search(r"\bthe (?:former|latter)\b", question, re.IGNORECASE):
        return question
    named = list(dict.fromkeys(_NAME_SHAPED_RE.findall(question)))
    if len(named) < 2:
        return question
    question = re.sub(r"\bthe former\b", named[0], question, flags=re.IGNORECASE)
    return re.sub(r"\bthe latter\b", named[-1], question, flags=re.IGNORECASE)


def content_of(question: str) -> str:
    """The question without the IDs and dates that only filter the search, without what a chat turn opens with
    ("ok then,", "unrelated:") and a polite wrapper ("Could you please tell me which ...", "I'd like ...,
    please"), its clipped words written out."""
    question = _former_latter(unclipped(without_lead_in(question)))
    text = _ID_OR_YEAR_RE.sub(" ", MONTH_RE.sub(" ", _DATE_PART_RE.sub(" ", question)))
    return _POLITE_TAIL_RE.sub("", _POLITE_HEAD_RE.sub("", text)).strip() or text


# The part of a month or year a date names ("the first week of June 2025", "early 2025"): the filter's, too.
_DATE_PART_RE = re.compile(r"\b(?:the\s+)?(?:first|second|third|last|final)\s+(?:week|weeks|days|half|quarter)\s+of\b"
                           r"|\b(?:early|late|mid)[\s\-]+(?=(?:19|20)\d\d\b|[A-Z][a-z]+\s+(?:19|20)\d\d\b)",
                           re.IGNORECASE)
_POLITE_HEAD_RE = re.compile(
    r"^\s*(?:(?:please|kindly)\s*,?\s+|(?:could|can|would|will) you\s+(?:please\s+|kindly\s+)?"
    r"(?=tell|say|explain|list|name|give|show|describe|summari[sz]e|identify)|(?:tell|show) me\s+(?=wh|how)|"
    r"(?:i'?d|i would|we'?d|we would) like(?: to know)?\s+|i (?:want|need|wonder)(?: to know)?\s+)+",
    re.IGNORECASE)
_POLITE_TAIL_RE = re.compile(r"[\s,]+(?:please|thanks|thank you)\s*(?=[?.!]*\s*$)", re.IGNORECASE)


def entities(text: str) -> list[str]:
    """Names in `text` that an answer's sources must mention: model-like names (Qwen3, GPT-4o, MMLU; three-letter
    capitals such as CPU are nouns) and a capitalised word with a version ("Llama 3").

    >>> entities("What is Llama 3's context window, and how does it compare with Qwen2.5 and Chinchilla?")
    ['Llama 3', 'Qwen2.5']
    """
    versioned = _VERSIONED_RE.findall(text)
    words = dict.fromkeys([*versioned, *NAMELIKE_RE.findall(text)])
    return [w for w in words if (w in versioned or namelike(w))
            and not (len(w) <= 3 and w.isupper()) and not any(w != v and w in v.split() for v in versioned)]


def proper_nouns(text: str, names: list[str]) -> list[str]:
    """Capitalised words inside a sentence that are not among `names` ("Chinchilla", "Numpy").

    >>> proper_nouns("How does it compare with Qwen2.5 and Chinchilla on English tasks?", ["Qwen2.5"])
    ['Chinchilla']
    """
    found = [m.group(1) for m in _INSIDE_RE.finditer(text) if m.group(1) not in COMMON_CAPITALS]
    return [w for w in dict.fromkeys(found) if not any(w in n or n in w for n in names)]


_VERSIONED_RE = re.compile(r"\b[A-Z][a-z]+[ \-]\d+(?:\.\d+)?\b(?![.\-]\w)")
_INSIDE_RE = re.compile(r"(?<![.:?!]\s)(?<!^)(?<![\w\-])(?<!\(regarding )"
                        r"([A-Z][a-z]{3,}(?:\s+[A-Z][a-z]+)*)\b(?![.\-]\w)")
COMMON_CAPITALS = {"English", "Chinese", "Spanish", "French", "German", "Arabic", "Russian", "Korean", "Japanese",
                   "Thai", "Vietnamese", "January", "February", "March", "April", "June", "July", "August",
                   "September", "October", "November", "December", "Tell", "Which", "What", "How", "Give", "List",
                   "Name", "Does", "Switching", "Turning", "Besides", "Also", "According", "Compared", "Between"}


def _embedded_how(question: str, m: re.Match[str]) -> bool:
    """Is this "how much/many ..." inside a question led by "what/which/who" ("What lets users decide how much
    compute to spend?"): the answer is the thing asked for, not a figure."""
    return (m.group().lower().startswith("how") and re.match(r"\s*(?:what|which|who)\b", question, re.I) is not None
            and re.search(r"[,:;]\s*(?:and\s+)?$", question[: m.start()]) is None)


_PAPER_NOUN_RE = re.compile(r"\b(?:papers?|works?|stud(?:y|ies)|articles?|abstracts?|publications?)\b", re.IGNORECASE)


# A question led by "how does X ..." / "why" asks for a mechanism or a reason, and one led by "which paper /
# method / model ..." asks for a name: a measure named further on ("compute its importance ratio", "a varying
# number of tokens") describes what is asked about, not a figure asked for.
_MECHANISM_LEAD_RE = re.compile(r"^\s*(?:how\s+(?:does|do|did|is|are|was|were|can|could|would|should|will)|why)\b",
                                re.IGNORECASE)
_NAME_LEAD_RE = re.compile(
    r"^\s*(?:(?:in|on|for|of|from|by)\s+)?(?:which|what)\s+(?:[\w.\-]+\s+){0,3}?(?:papers?|works?|stud(?:y|ies)|"
    r"articles?|methods?|approach(?:es)?|models?|techniques?|frameworks?|systems?|benchmarks?|datasets?|"
    r"algorithms?|mechanisms?|modules?|components?)\b", re.IGNORECASE)


# "Which paper / work / study ...": a paper is asked for; what follows describes it ("Which work scores ...").
_PAPER_LEAD_RE = re.compile(r"^\s*(?:(?:in|on|from|by)\s+)?(?:which|what)\s+(?:[\w.\-]+\s+){0,2}?"
                            + _PAPER_NOUN_RE.pattern, re.IGNORECASE)


def _described(question: str, m: re.Match[str]) -> bool:
    """Is the measure `m` part of what the question describes, after a lead that asks for a mechanism or a
    name ("How does GSPO compute its importance ratio?")? Not when it follows a method's or model's lead at
    once ("What model sizes ...?": the sizes are asked for; but "Which work scores ...": a verb), is a "how
    many/much", or opens a second question (", and what ...")."""
    lead = _MECHANISM_LEAD_RE.match(question) or _PAPER_LEAD_RE.match(question) or _NAME_LEAD_RE.match(question)
    if lead is None or m.group().lower().startswith("how"):
        return False
    if not question[lead.end(): m.start()].strip() and not _PAPER_LEAD_RE.match(question):
        return False
    return re.search(r"[,;]\s*(?:and\s+)?(?:what|which|how)\b", question[lead.end(): m.start()], re.I) is None


def unstated_asked(question: str) -> list[re.Pattern[str]]:
    """The evidence a sentence needs for each rarely-stated detail the question asks for (read without the
    "(regarding X)" a follow-up was given)."""
    question = re.sub(r"\s*\(regarding [^)]*\)\s*$", "", question)
    return [evidence for asked, evidence in _UNSTATED if asked.search(question)]


# "What are the stages ...", "Tell me / explain / outline the stages ...": the parts are asked for.
_PARTS_LEAD_RE = re.compile(r"^\s*(?:(?:to|in|of|for|from|by|on|with|into)\s+)?"
                            r"(?:what|which|name|list|describe|give|tell\s+(?:me|us)|explain|outline)\b", re.IGNORECASE)


def kind_of(question: str) -> Kind:
    """The kind of answer `question` wants."""
    if _EXPANSION_RE.search(question):
        return Kind.EXPANSION
    if _LIST_RE.search(question):
        return Kind.LIST
    words = set(tokenize([question])[0])
    if not re.search(r"\bdimensions\b", question, re.I):  # "the embedding dimension" is a size, not a part
        words.discard("dimens")
    if words & PART_WORDS and not _PAPER_LEAD_RE.match(question) and _PARTS_LEAD_RE.search(question):
        return Kind.PARTS
    if any(not _embedded_how(question, m) and not _described(question, m) for m in _NUMBER_RE.finditer(question)):
        return Kind.NUMBER
    if _SUMMARY_RE.search(question):
        return Kind.SUMMARY
    return Kind.OTHER


_BUILDING_BLOCKS_RE = re.compile(r"\b(?:building[\s\-]+blocks?|constituents?|ingredients?|pieces)\b", re.IGNORECASE)


def parse(question: str) -> Question:
    """Read `question` (already standalone)."""
    content = _BUILDING_BLOCKS_RE.sub("components", content_of(question))  # one word for the parts
    # The words for papers are dropped before stemming: "publications" stems to "public" ("public datasets").
    terms = [t for t in dict.fromkeys(words_of(_PAPER_NOUN_RE.sub(" ", content))) if t not in QUESTION_WORDS]
    kind = kind_of(content)
    acronym = None
    if kind is Kind.EXPANSION:
        acronym = next((a for a in _ACRONYM_RE.findall(content) if a.upper() == a or len(a) <= 8), None)
    count = next((i + 2 for i, w in enumerate(("two", "three", "four", "five", "six"))
                  if re.search(rf"\b{w}\b", content, re.IGNORECASE)), None)
    papers = _PAPER_NOUN_RE.search(content) is not None
    names = entities(content)
    focus = focus_of(content, kind)  # "how many experts" asks for experts, even of a "Mixture-of-Experts" model
    # (a word said again outside the description is also asked about: "... credit for the sigmoid gate")
    rest = set(words_of(_DESCRIBED_RE.sub(" ", content)))
    described = [t for m in _DESCRIBED_RE.finditer(content) for t in words_of(m.group(1)) if t in terms
                 and t not in rest]
    setting = setting_of(content)  # "A January 2025 paper promised X. How much ...?": X picks the paper
    if _PAPER_NOUN_RE.search(setting):
        asked = set(words_of(content[len(setting):]))
        described += [t for t in words_of(setting) if t in terms and t not in asked]
    return Question(content, kind, names, terms, unstated_asked(question), acronym, count, papers,
                    proper_nouns(content, names), focus, _NAMES_ASKED_RE.search(content) is not None,
                    [t for t in dict.fromkeys(described) if t not in focus])


# "the gated attention study", "the token-entropy paper": a paper named by what it is about.
_DESCRIBED_RE = re.compile(r"(?<![\w\-])the\s+((?:[a-z][\w\-]*\s+){0,3}[a-z][\w\-]*)\s+"
                           r"(?:paper|study|work|article|report)\b(?!\s+(?:on|about|of|that|which|where))")
# Words that point at a paper already discussed ("the same paper", "the second study"), not describe one.
_POINTING_WORDS = {"same", "other", "previous", "above", "last", "first", "second", "third", "former", "latter",
                   "cited", "earlier", "mentioned", "original", "next", "latest", "new", "newer", "older"}


def describes_paper(question: str) -> bool:
    """Does `question` name the paper it asks about by what it is about ("the high-entropy token paper")?"""
    return any(not set(m.group(1).lower().split()) & _POINTING_WORDS for m in _DESCRIBED_RE.finditer(question))


def used_name(question: str, name: str) -> bool:
    """Does a list question ask for the papers that use `name` ("Which papers evaluate on AIME?"), not for the
    papers of a family it names ("Which Qwen papers ...", "Qwen2.5 papers: which ones?")? The name comes
    after the words for papers, and is not what they are "on" or "about" (a topic)."""
    at = re.search(rf"(?<![\w.\-]){re.escape(name)}(?![\w\-])", question, re.IGNORECASE)
    noun = _PAPER_NOUN_RE.search(question)
    if at is None or noun is None or at.start() < noun.start():
        return False
    between = question[noun.end():at.start()]
    return re.search(r"\b(?:on|about|of|from|in|regarding|concerning)\s+(?:the\s+)?$", between, re.IGNORECASE) is None \
        or re.search(r"\b(?:us(?:e|es|ed|ing|age)|evaluat\w*|test\w*|report\w*|results?|experiments?|compar\w*|"
                     r"build\w*|built|benchmark\w*)\b", between, re.IGNORECASE) is not None


# "Name the three datasets X is evaluated on", "Which open-source models does X include", "X: name of the method?":
# named things are asked for.
_NAMED_THING = r"(?:datasets?|benchmarks?|baselines?|models?|languages?|competitors?)"
_NOT_A_NAME = r"(?!(?:kinds?|types?|sorts?|class|classes|family|families)\s+of\b)"
_AUX_WORDS = r"(?:do|does|did|is|are|was|were)"
_NAMES_ASKED_RE = re.compile(
    rf"^\s*(?:[^:?,]{{1,60}}[:,]\s*)?(?:name|list|identify)\s+(?:the\s+|all\s+)?(?:[\w\-]+\s+){{0,3}}?{_NAMED_THING}\b|"
    rf"^\s*(?:[^:?,]{{1,60}}[:,]\s*)?(?:which|what)\s+{_NOT_A_NAME}"
    rf"(?:(?!(?:the|an?|its|their|this|that|these|those)\s)[\w\-]+\s+){{0,3}}?{_NAMED_THING}\s+"
    rf"(?:{_AUX_WORDS}\b|(?-i:[A-Z])[\w\-]*\b|[a-z]+(?:s|ed)\s+(?:as|from|with|on|in|to|by)\b)|"
    r"\b(?:the )?names? of (?:the|its|their|this|that)\b|\bwhat (?:is|are) (?:the|its|their) [^?,;]{1,80}? called\b|"
    r"[,(]\s*(?:by|with (?:its|their)) names?\s*\)?\s*\??\s*$|"  # "Which dataset did X use, by name?"
    rf"^\s*[^:?]{{1,80}}:\s*(?:the\s+|its\s+)?(?:[\w\-]+\s+){{0,3}}?{_NAMED_THING}\s*\??\s*$",  # "X: backbone models?"
    re.IGNORECASE)
_SPELLED_OUT_RE = re.compile(r"\b([A-Z][a-z]+(?:[\s\-]+[A-Z][a-z]+)+)\s*\([A-Z][A-Za-z\-]*\)")
_AUX = r"(?:is|are|was|were|does|do|did|has|have|had|can|could|will|would|should|may|might)"
# "how much faster is prefill": a change asked for, which a ratio states ("3x to 7x prefill speedup")
COMPARATIVES = frozenset(words_of("faster slower quicker better worse larger smaller bigger higher lower longer "
                                  "shorter cheaper stronger weaker greater"))
_PREPOSITION = r"(?:of|in|on|for|with|from|to|by|at|per|than|across|over|under|into|onto|does|do|did)"
# Verbs in the past that do not end in -ed ("how much data went into ..."): they end the thing asked for.
_IRREGULAR_PAST = (r"(?:went|got|came|took|made|gave|ran|grew|spent|brought|found|said|saw|became|began|built|chose|"
                   r"knew|left|lost|meant|paid|sent|showed|shown|told|thought|won|wrote|written|seen|given|taken)")
_NOUNLIKE = rf"(?!{_AUX}\b|{_PREPOSITION}\b|{_IRREGULAR_PAST}\b|[a-z]+ed\b)(?-i:[a-z][\w\-]*)"
_FOCUS_RES = [
    # "how many human annotators scored ...": the noun phrase, up to a verb, a preposition or a name
    re.compile(rf"\bhow (?:many|much)\s+(?:more\s+|fewer\s+|less\s+)?(?!{_AUX}\b|[a-z]+er\s+than\b)"
               rf"((?:{_NOUNLIKE}\s+){{0,2}}{_NOUNLIKE})(?![\w\-])",
               re.IGNORECASE),
    re.compile(rf"\b(?:at|in|on|with|by|to) what\s+((?:[a-z][\w\-]*\s+){{0,2}}?[a-z][\w\-]*)\s+{_AUX}\b",
               re.IGNORECASE),
    re.compile(rf"(?:^|[,:;]\s*)(?:(?:roughly|approximately|about|exactly|precisely|so|and)\s+)?(?:what|which)\s+"
               rf"(?!{_AUX}\b)((?:[a-z][\w\-]*\s+){{0,2}}?[a-z][\w\-]*)\s+{_AUX}\b", re.IGNORECASE),
    re.compile(r"^\s*what(?:'s|\u2019s|\s+(?:is|are|was|were))\s+the\s+((?:[a-z][\w\-]*\s+){0,2}?[a-z][\w\-]*)\s+"
               r"(?:of|for|in|used|that|does|do|behind)\b", re.IGNORECASE),
    re.compile(r"^\s*(?:tell me|give(?: me)?|name|state|report|provide|show(?: me)?)\s+(?:the\s+|a\s+|an\s+)?"
               r"((?:[a-z][\w\-]*\s+){0,3}?[a-z][\w\-]*)\s+(?:of|for|used|that|in|behind|applied|produced|which|"
               r"by|at|on)\b", re.IGNORECASE),
    re.compile(r"^\s*(?:the\s+)?(?:number|amount|count|quantity) of\s+((?:[a-z][\w\-]*\s+){0,3}?[a-z][\w\-]*)\s+"
               r"(?:in|of|for|used|that|behind|at|on|by|does|do|did|is|are|was|were)\b", re.IGNORECASE),
    # "State the largest model size and the number of pre-training tokens used ...": pre-training tokens
    re.compile(r"\bthe (?:number|amount|count|quantity) of\s+((?:[a-z][\w\-]*\s+){0,2}?[a-z][\w\-]*)\s+"
               r"(?:in|of|for|used|that|behind|at|on|by|does|do|did|is|are|was|were)\b", re.IGNORECASE),
]
_ASKING_RE = re.compile(r"^\s*(?:what|which|how|who|whom|whose|when|where|why|is|are|was|were|does|do|did|can|could|"
                        r"has|have|tell|give|name|list|describe|explain|summar\w*|show|state|report|provide|compare|"
                        r"according|in|on|for|from|by|among|between|and|also|then|so)\b", re.IGNORECASE)


def asks(text: str) -> bool:
    """Does `text` open as a question or a request ("what ...", "list ..."), not a bare noun phrase?"""
    return _ASKING_RE.match(text) is not None


_UNIT_RE = re.compile(r"\b(?:size|length|depth|count|number|amount|scale)\b[^?]{0,60}?\bin\s+(?:terms of\s+)?"
                      r"([a-z]{3,}s)\b(?=\s*(?:[?.,;]|$|of\b|and\b))", re.IGNORECASE)
_NAME_SHAPED_RE = re.compile(r"\b[A-Z][\w.\-]*[A-Z0-9][\w.\-]*\b")


def focus_of(question: str, kind: Kind) -> list[str]:
    """The stems of the thing the question asks for, when it names one that is not generic.

    >>> focus_of("How many layers does it have?", Kind.NUMBER), focus_of("What win rate does X get?", Kind.NUMBER)
    (['layer'], ['win', 'rate'])
    >>> focus_of("What model sizes does X come in?", Kind.NUMBER), focus_of("Which paper introduces X?", Kind.OTHER)
    ([], [])
    """
    skip = _skipped(kind)
    words = focus_words(question, kind)
    kept = [t for w in words for t in words_of(w) if t not in skip]
    # "how much preference data": the figure counts the data, which a sentence says next to it ("15M-scale data")
    head = kept and re.search(rf"\b{re.escape(words[-1])}\s+({'|'.join(HEAD_NOUNS)})\b", question, re.IGNORECASE)
    return kept + ([head.group(1).lower()] if head else [])


def setting_of(question: str) -> str:
    """What a question says before the sentence or clause that asks, when it opens with no question ("A January
    2025 paper promised X. How much ...?"): it describes the paper, and is not what is asked of it."""
    if asks(question):
        return ""
    starts = [m.end() for m in _CLAUSE_RE.finditer(question) if asks(question[m.end():])]
    return question[: starts[-1]] if starts else ""


def focus_words(question: str, kind: Kind) -> list[str]:
    """The words (as written) of the thing the question asks for: what `focus_of` stems.

    >>> focus_words("How many human annotators scored the dialogues?", Kind.NUMBER)
    ['human', 'annotators']
    """
    if kind in (Kind.EXPANSION, Kind.LIST, Kind.SUMMARY):
        return []
    if setting := setting_of(question):  # "The paper from May 2025 is about X. What's its approach?": what asks
        return focus_words(question[len(setting):], kind)
    if kind is Kind.NUMBER and (unit := _UNIT_RE.search(question)):  # "the size of X in problems": problems
        return _kept(unit.group(1), QUESTION_WORDS)[-1:]
    skip = _skipped(kind)
    for pattern in _FOCUS_RES:
        m = pattern.search(question)
        if m:  # a name there is the subject, not the thing asked for ("how many Qwen3 models")
            return _kept(_NAME_SHAPED_RE.sub(" ", m.group(1)), skip)
    if not asks(question):  # telegraphic ("Qwen2-VL context length?"): the last word is the focus
        tail = _NAME_SHAPED_RE.sub(" ", question.rsplit(":", 1)[-1])
        head = re.match(r"\s*(?:the\s+)?((?:[a-z][\w\-]*\s+){0,1}[a-z][\w\-]*)\s+of\s+(.*)", tail, re.IGNORECASE)
        if head:  # "accuracy of top models?": the word before "of"; "size of the sample set?": the thing after it
            return _kept(head.group(1), skip) or _kept(_THING_END_RE.split(head.group(2))[0], skip)[-3:]
        thing = re.split(r"\s+(?:over|than|versus|vs\.?|compared|relative|against)\b", tail, flags=re.IGNORECASE)[0]
        kept = _kept(thing, skip)
        # "objective accuracy gain?": a gain is a change of what comes before it, which a sentence may name alone
        return kept[-2:] if len(kept) > 1 and set(words_of(kept[-1])) & CHANGE_WORDS else kept[-1:]
    return []


# Where a sentence or clause that asks may begin after words that set it up ("X is about Y. What ...?",
# "The report of 14 May \u2014 what range ...?", "Instead of X, could you ...?").
_CLAUSE_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])|\s*[\u2014\u2013]\s*|\s+-+\s+|"
                        r",\s+(?=(?:could|can|would|should|do|does|is|are|what|which|how|who|where|when|why)\b)")
_THING_END_RE = re.compile(r"\s+(?:and|or|with|for|in|on|at|by|to|from)\s+|[,;]|\s+[a-z]+ed\b", re.IGNORECASE)


# A change of a measure ("accuracy gain"), stated as "from 55.1% to 91.5%", "+4.79", "an improvement".
CHANGE_WORDS = frozenset(words_of("gain gains improvement improvements increase increases boost boosts drop drops "
                                  "decline declines reduction reductions"))
# Words for the kind of answer, which the answering sentence says in its own words ("What problem does X
# solve?" is answered by what X keeps in balance, not by a sentence saying "problem"); counted, they are things.
# (GENERIC_TERMS, never the thing asked for, already holds role, effect, impact, benefit, advantage, difference.)
ANSWER_TYPE_WORDS = frozenset(words_of(
    "problem problems issue issues challenge challenges drawback drawbacks reason reasons motivation insight insights "
    "lesson lessons"))


def _skipped(kind: Kind) -> set[str]:
    """The stems that never name the thing asked for."""
    return (QUESTION_WORDS | GENERIC_TERMS | NUMBER_WORDS | (PART_WORDS if kind is Kind.PARTS else set())
            | (set() if kind is Kind.NUMBER else ANSWER_TYPE_WORDS))  # "how many problems": math problems


def _kept(phrase: str, skip: set[str]) -> list[str]:
    """The words of `phrase` with a stem not in `skip`."""
    return [w for w in re.findall(r"[\w\-]+", _PREFIXED_RE.sub(r"\1", phrase))
            if any(t not in skip for t in words_of(w))]


_WORDISH_RE = re.compile(r"[A-Za-z][\w.\-]*[A-Za-z0-9]|[A-Za-z]")


def recased(question: str, texts: list[str]) -> str:
    """`question` with the names it types in lower case ("qwen2.5-coder", "polymath") written as `texts`
    write them ("Qwen2.5-Coder", "PolyMath"), so that they are read as names.

    A word is recased when `texts` write it only in that case: as a name (Qwen3, GPT-4o) always, and as a
    capitalised word met inside a sentence ("Claude", "Numpy") when the question has no capital at all.

    >>> recased("how much text was qwen2.5 pretrained on vs gpt-4o", ["Qwen2.5 and GPT-4o are models."])
    'how much text was Qwen2.5 pretrained on vs GPT-4o'
    >>> recased("what elo does claude get", ["It beats Claude. Elo ratings ... and elo"])
    'what elo does Claude get'
    >>> recased("gpt-5 context window, vs llama3 and top-5 accuracy?", ["Qwen3 is a model."])
    'GPT-5 context window, vs Llama3 and top-5 accuracy?'
    """
    if not any(w.islower() for w in _WORDISH_RE.findall(question)):
        return question
    lowered: set[str] = set()
    cased: dict[str, str] = {}
    plain = not any(c.isupper() for c in question)
    for text in texts:
        for sentence in re.split(r"(?<=[.!?])\s+", text):
            for n, m in enumerate(_WORDISH_RE.finditer(sentence)):
                word = m.group()
                if word.islower():
                    lowered.add(word)
                elif namelike(word) or (plain and n and word[0].isupper() and word[1:].islower() and len(word) > 3
                                        and word not in COMMON_CAPITALS):
                    cased.setdefault(word.lower(), word)

    def fix(m: re.Match[str]) -> str:
        word = m.group()
        if not word.islower() or word in lowered:
            return word
        if word in cased:
            return cased[word]
        # A model's name the abstracts never write ("gpt-5", "llama3"): still a name, which they do not mention
        shaped = _MODEL_SHAPED_RE.fullmatch(word)
        if shaped and shaped.group(1) not in NOT_MODEL_PREFIXES:
            prefix = shaped.group(1)
            return (prefix.upper() if len(prefix) <= 3 else prefix.capitalize()) + word[len(prefix):]
        return word

    return _WORDISH_RE.sub(fix, question)


_MODEL_SHAPED_RE = re.compile(r"([a-z]{3,})-?\d+(?:\.\d+)*[a-z]?(?:-[a-z0-9.]+)*")
# Words that run into a figure without naming a model ("top-5", "int8", "covid-19", "stage2").
NOT_MODEL_PREFIXES = frozenset("top int pass covid step steps layer layers round rounds stage stages phase level "
                               "tier version gen sota fold epoch epochs batch rank mnist cifar utf sha md".split())
