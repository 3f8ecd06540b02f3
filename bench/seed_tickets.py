"""Ticket seed for the agent-console benchmark: 1,000,000 tickets / 3,000,000 messages (the issue's figure).

    python bench/seed_tickets.py                                  # SQLite file in a temp directory
    python bench/seed_tickets.py --path /work/bench-data/tickets.sqlite3
    python bench/seed_tickets.py --database-url postgresql://postgres@127.0.0.1:5432/bench
    python bench/seed_tickets.py --tickets 20000                  # a quick one

The target database is WIPED (SQLite: the file is deleted; PostgreSQL: the public schema is dropped),
then migrated with the app's own migrations, then bulk-loaded outside the ORM:
SQLite through one ``sqlite3`` connection (no journal, no fsync, big transactions, executemany);
PostgreSQL through asyncpg ``COPY`` with ``session_replication_role = replica`` (no FK checks,
no tally triggers; ``queue_tally`` and ``ticket_week_stat`` are rebuilt from a GROUP BY at the end).
The secondary indexes of ticket, message, ticket_tag (and ticket_search) are dropped before the load
and recreated from their own definitions after it. Ticket rows and texts are generated in worker processes
(``--jobs``), deterministically from ``--seed``.

What it makes: 1 admin and 30 agents (password ``bench-pass-2026``) in 4 teams, 30,000 registered
customers and 20,000 guest requesters, 9 categories routed to teams, 30 tags on ~30% of the
tickets, statuses like a real desk (~85% closed, 6% solved, 4% open, 2% new, 2% pending, 1% on
hold; the unsolved ones skewed recent, ~70% of them assigned), 3 years of history (created_at
increases with the id), 1–8 messages per ticket (3 on average; some internal notes), and the
full-text index of every ticket (FTS5 ``ticket_fts`` / PostgreSQL ``ticket_search`` with the app's
``PG_DOCUMENT`` weights). Texts come from the vocabulary below, with Zipf-like word frequencies:
common words (``COMMON_WORDS``) are in a large share of the tickets, ``RARE_WORDS`` in ~0.1%,
error codes (``error_code(n)``) in a handful and order numbers in one. ``load.py`` imports these.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import math
import os
import random
import sys
import tempfile
import time
from bisect import bisect
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from itertools import accumulate
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "bench-pass-2026"
ADMIN_EMAIL = "admin@bench.example"
AGENTS = 30
REGISTERED = 30_000  # customers with an account (portal_user, role customer)
GUESTS = 20_000  # requesters without one (ticket.requester NULL)
PEOPLE = REGISTERED + GUESTS
YEARS = 3
FIRST_ERROR_CODE, ERROR_CODES = 10_000, 30_000  # E10000 … E39999, each in a few tickets

# team name -> agent numbers (agent01 … agent30); a few agents are in two teams.
TEAMS = {
    "Technical support": list(range(1, 11)) + [11],
    "Billing": list(range(11, 19)) + [19],
    "Shipping": list(range(19, 26)),
    "Accounts": list(range(26, 31)) + [1],
}
LIMITED_AGENTS = range(26, 31)  # limited_to_teams: they only see their team's tickets
# category -> team (None: nobody's) and share of the tickets
CATEGORIES = [
    ("Billing and invoices", "Billing", 14),
    ("Refunds", "Billing", 7),
    ("Login and password", "Accounts", 12),
    ("Account settings", "Accounts", 6),
    ("Technical problem", "Technical support", 22),
    ("Integrations and API", "Technical support", 6),
    ("Delivery and shipping", "Shipping", 15),
    ("Returns", "Shipping", 8),
    ("General question", None, 10),
]
TAGS = """vip billing refund bug feature-request outage mobile ios android web api sso invoice shipping-delay
damaged return warranty password security gdpr spam duplicate follow-up escalated enterprise trial churn-risk
how-to onboarding feedback""".split()
# status, share of all tickets, mean age as a fraction of the history (exponential: unsolved is recent)
STATUS_SHAPE = [
    ("new", 0.02, 0.08),
    ("open", 0.04, 0.15),
    ("pending", 0.02, 0.15),
    ("on_hold", 0.01, 0.30),
    ("solved", 0.06, 0.25),
]  # the rest (~85%) is closed
ASSIGNED = {"new": 0.35, "open": 0.82, "pending": 0.82, "on_hold": 0.82, "solved": 0.97, "closed": 0.97}
PRIORITIES = [("low", 0, 20), ("normal", 1, 60), ("high", 2, 15), ("urgent", 3, 5)]

FIRST_NAMES = """James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard
Susan Joseph Jessica Thomas Sarah Charles Karen Daniel Lisa Matthew Nancy Anthony Betty Mark Sandra Paul Ashley
Steven Emily Andrew Kimberly Joshua Donna Kenneth Michelle Kevin Carol Brian Amanda George Melissa Timothy
Deborah Ronald Stephanie Jason Rebecca Amélie Lucas Chloé Hugo Léa Jonas Mia Noah Sofia Mateo""".split()
LAST_NAMES = """Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez
Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis
Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera
Campbell Mitchell Carter Roberts Dupont Müller Rossi Novak Kowalski Jensen Silva Tanaka Okafor Haddad""".split()
DOMAINS = """example.com example.org example.net mail.example acme.example globex.example initech.example
umbrella.example hooli.example stark.example wayne.example tyrell.example""".split()


def person(index: int) -> tuple[str, str]:
    """(name, email) of requester ``index`` (0 … PEOPLE-1); below REGISTERED they have an account."""
    first = FIRST_NAMES[index % len(FIRST_NAMES)]
    last = LAST_NAMES[(index // len(FIRST_NAMES)) % len(LAST_NAMES)]
    local = f"{first}.{last}".lower().encode("ascii", "ignore").decode()
    return f"{first} {last}", f"{local}.{index}@{DOMAINS[index % len(DOMAINS)]}"


def agent_email(n: int) -> str:
    return f"agent{n:02d}@bench.example"


def error_code(n: int) -> str:
    return f"E{FIRST_ERROR_CODE + n % ERROR_CODES}"


# --- vocabulary -----------------------------------------------------------------------------------

FUNCTION = """
the to and a i is it not my of for on in this with when we you can have but that be are was at
from after or there as so if me our your they it's has been do does any all some no will would
could should please just still also now then again only about by an its into than very too up out
""".split()

_HEAD = """
printer error account password login invoice order refund payment email app update shipping
delivery page screen message issue problem help support access card subscription charge data file
upload download sync report export import settings profile browser phone server connection network
install version license user admin team customer plan billing price discount coupon code link
button form address package tracking return replacement warranty device battery display camera
notification calendar meeting booking appointment schedule reminder backup restore migration
dashboard api token key integration webhook plugin extension setup configuration permission role
folder document attachment photo image video audio sound keyboard mouse cable charger adapter
scanner label receipt tax vat currency bank transfer wallet balance credit debit statement
""".split()

_TAIL = """
ability absence accent acceptance accident accommodation accuracy acknowledgement acquisition
action activation activity actor adaptation addition adjustment admission adoption advance
advantage adventure advertisement advice affair affection afternoon agency agenda agent agreement
aid aim aircraft airline airport alarm album alert algorithm alias alignment allocation allowance
alternative amendment amount analysis analyst anchor angle animation announcement annual answer
anomaly antenna anticipation antivirus apology appeal appearance appendix appetite applause
appliance applicant application appointment appraisal approach approval architecture archive area
argument arrangement array arrival article artifact aspect assembly assessment asset assignment
assistance assistant association assumption assurance atmosphere attempt attendance attention
attitude attribute auction audience audit author authority authorization autumn availability
avatar average award awareness backend background backlog badge bag balcony bandwidth banner
bargain barrier base baseline basis basket batch bay beacon beam bearing bed behavior belt
benchmark benefit bid bill binder biography birthday blade blank blanket blend blind block blog
blueprint board body bonus book bookmark boost boot border bottle bottleneck bottom boundary bowl
box bracket branch brand breach break breakdown breakfast bridge brief brightness broadcast
brochure broker bubble bucket budget buffer bug building bulb bulk bundle burden bureau burst bus
business buyer bypass cabinet cache cafe calculation calculator call campaign cancellation
candidate capability capacity caption capture carrier cart cartridge case cashback catalog
category cause caution ceiling cell center certificate chain chair challenge chamber champion
change channel chapter character chart chat checkbox checkout checksum chip choice chunk circuit
citation city claim clarification class clause client clip clipboard clock clone closure cloud
cluster coach coating collection collector column combination command comment commission
commitment committee communication community company comparison compartment compatibility
compensation competition compiler complaint completion complexity compliance component
composition compression computer concept concern conclusion condition conference confirmation
conflict confusion consent consequence console constraint consultant consumer contact container
content contest context contract contribution control convenience conversation conversion cookie
coordinator copy cord core corner correction correspondence cost counter country coupling courier
course court coverage cradle crash creation creator credential crew crisis criteria critic crop
cursor curve cushion custom cycle daemon damage database date deadline deal dealer debt decision
deck declaration decline decoder default defect deficit definition degree delay delegate deletion
demand demo density department departure deposit depot depth deputy description design desk
destination detail detection developer development diagnosis diagnostic dialog diameter
difference difficulty digest dimension dinner direction directory disaster disc discussion dish
disk dispatch dispute distance distribution district dock doctor domain donation door dose draft
drawer drawing dream drive driver drop duration duty earning edge edition editor education effect
efficiency effort elevator element emergency employee employer encoding encryption endpoint energy
engine engineer enquiry enrollment entity entrance entry envelope environment episode equipment
equivalent estimate evaluation event evidence exam example exception exchange excuse execution
exemption exhibition exit expansion expectation expense experience experiment expert expiration
explanation exposure expression extract fabric facility factor failure family fan fare farm
fashion fault favor feature federation fee feedback field figure filter finance finding firewall
firmware fitness fixture flag flash fleet flight floor flow fluid focus font footer forecast
format formula forum foundation fragment frame framework fraud freight frequency friction fridge
friend front fuel function fund furniture fuse gadget gallery game gap garage garden gate gateway
gauge gear generator gift glass glitch goal government grade grant graph grid grip group growth
guarantee guard guest guidance guide habit hall handle handler hardware hash header headset
health hearing heater height helmet highlight hint history hold holder holiday home hook horizon
host hotel hour household hub humidity hyperlink icon idea identifier identity image imbalance
impact implementation import improvement incident income increase index indicator industry
infrastructure ingredient initiative injury ink input inquiry insight inspection installation
instance institution instruction insurance intake intention interest interface interruption
interval interview introduction inventory investigation investment invitation item itinerary
jacket jam job joint journal journey judgment junction keyword kit kitchen knob knowledge lab lack
ladder lamp landing language laptop latency launch layer layout lead leader leaflet leak lease
leave lecture ledger length lesson letter level liability library lid lifetime lift limit line
liquid list literature load loan lobby location lock log logic logo loop loss lot lounge loyalty
machine magazine magnet mailbox maintenance management manager manual manufacturer map margin
mark market mask master match material matrix maximum meal measure measurement mechanism media
medium member membership memo memory menu merchant merge mesh metadata meter method metric
microphone milestone minimum minute mirror mission mistake mixer mobile mode model modem module
moment monitor month mortgage motor mount movement multiplier museum nail name navigation neighbor
node noise note notebook notice novel number nurse object objective obligation observation
occasion offer office offset operation operator opinion opportunity option orchestra organization
origin outage outcome outlet outline output oven overflow overlay overview owner ownership pad page
painting pair palette pane panel paper paragraph parameter parcel parent parking parser part
participant partner party passage passenger passport patch path patient pattern pause payload
payroll peak penalty pension percentage performance period peripheral person perspective phase
pilot pin pipeline pitch pixel place placement plant plastic plate platform player playlist pledge
plug pocket point policy poll pool port portal portfolio position possibility post postage poster
pot potential powder power practice preference premium preparation prescription presence
presentation preset pressure preview priority privacy prize procedure process processor product
production profession professor program progress project promise promotion prompt proof property
proportion proposal prospect protection protocol provider provision proxy publication publisher
pump purchase purpose quality quantity quarter query question queue quota quote rack radio rail
range rank rate rating ratio reader reading reality reason rebate recipe recipient recognition
recommendation record recovery reduction reference referral refill region register registration
registry regulation relation release reliability relief remark remedy removal renewal rent repair
repository representative request requirement research reservation reserve resident resolution
resource response responsibility restart restaurant restriction result resume retailer retention
retry revenue review revision reward rhythm ribbon ride ring risk road robot rod roll roof room
root rope rotation round route router routine row rubber rule runtime safety salary sale sample
sandbox satisfaction saving scale scenario scene scheme scope score script search season seat
second secret section sector security segment selection seller seminar sender sensor sequence
series service session shadow share sheet shelf shell shield shift shipment shop shortcut shoulder
signal signature simulation site size sketch skill slide slot snapshot socket software solution
source space speaker specialist specification speed spelling spreadsheet stack staff stage stamp
standard start state station status step stock storage store story strategy stream street
strength stress string structure student studio style subject submission substance success
suggestion suitcase summary supplier supply surface survey suspension switch symbol symptom
syntax system table tablet tag talent target task teacher technician technology template
temperature tenant term terminal test text theme thread threshold ticket tier timeline timer
timestamp tip title tool toolbar topic total tour tower toy trace track trade traffic trail
trainer training transaction transcript transition translation transmission transport trap tray
treatment trend trial trigger trip trolley trouble truck trust tube tutorial type unit upgrade
usage utility vacation validation value valve variable variant vehicle vendor venue verification
version video view viewer village visibility visit visitor voice volume voucher wage waiter
warehouse warning waste watch wave website week weight welcome wheel widget width window wire
wizard word work workflow workshop workspace world wrapper writer yard year zone zoom
abandon accept accumulate activate add adjust allow analyze apply approve arrive assign attach
authenticate avoid bill block bounce browse calculate cancel capture change charge check choose
clean clear click close collapse compare compile complete compress confirm connect contain
continue convert copy correct crash create crop cut decline decrypt delete deliver deny deploy
describe detect disable disappear disconnect dismiss display download drag duplicate edit eject
enable encrypt end enter erase escalate exceed expire explain extend fail fetch fill find finish
fix flicker follow force format forward freeze generate grant hang hide highlight ignore import
include increase install interrupt invite join keep lag launch load locate log lose maintain
match merge migrate miss modify move notice notify obtain open overheat overwrite paste pause pay
permit pick place play plug post power prefer preview print proceed process prompt purchase push
quit reach read reboot receive recover redeem redirect refresh register reinstall reject reload
remain remember remove rename renew reorder repeat replace reply report request require reset
resize resolve respond restart restore resubmit retrieve return revert review revoke rotate run
save scan scroll search select send set share ship show shrink sign skip slow solve sort specify
split stall start stop store stream submit subscribe succeed suggest suspend swap switch sync
synchronize test timeout transfer translate trigger truncate try turn type uninstall unlock
unsubscribe update upgrade upload use validate verify view vibrate wait wake warn wipe work write
broken wrong missing slow blank frozen empty invalid expired duplicate incorrect unable stuck
damaged late urgent strange random constant intermittent recent previous latest new old correct
different same several multiple single whole partial automatic manual daily weekly monthly yearly
annual free paid premium basic standard professional enterprise personal shared private public
secure unsafe available unavailable online offline local remote external internal mobile
wireless wired primary secondary temporary permanent default custom additional extra full
frustrating disappointing helpful quick fast immediate unexpected unusual normal regular
blurry noisy loud quiet hot cold dark bright small large huge tiny heavy light grey black white
red green blue yellow orange purple silver golden wooden metallic plastic leather cotton glossy
matte curved flat round square narrow wide thick thin long short early tomorrow yesterday today
tonight morning evening weekend monday tuesday wednesday thursday friday saturday sunday january
february march april may june july august september october november december
abacus aberration abeyance ablution abrasion abscissa accolade acolyte acumen adage addendum
adjunct admonition adrenaline aegis affidavit aficionado alacrity albatross alchemy alcove
allegory allotment altimeter amalgam ambit amulet anachronism anagram anecdote annex antidote
aperture apex aplomb apparatus aqueduct arbiter arbor archipelago armada arsenal artisan ascent
astrolabe atrium auger aurora avalanche axiom azimuth bagatelle bailiwick balustrade bandolier
barnacle baroque bastion bauble beacon bedrock belfry bellwether bivouac blunderbuss bobbin
bodkin bollard bombast boondoggle bramble brigand brocade buccaneer bulwark burlap buttress
cabal cachet cadence caisson calamity caliper callisthenics camber canopy capstan caravan
carburetor cardigan carousel cartographer catacomb catapult cauldron cenotaph chandelier chasm
chimera chronometer citadel clarion clavichord cobblestone codex cogwheel colander colonnade
comet compass conduit conifer constellation coracle cormorant cornucopia corridor crucible
cudgel culvert cupola curio cynosure dais debacle decanter delta derrick dervish dirigible
doldrums doublet dowel dragoon drawbridge dulcimer dynamo eclipse eddy effigy elixir ember
emporium enclave ensign epaulette epoch equinox escarpment estuary facade falconer fanfare
farthing fathom felucca fiddle filigree firmament fjord flagon flotilla flume foghorn foundry
fresco fulcrum funnel gabardine galleon gargoyle garrison gazebo geyser gimbal glacier
gondola gramophone granary gryphon gyroscope halberd hammock harbinger harpoon hearth hedgerow
helix hemlock heron hinterland hourglass hydrant iceberg icicle idyll inkwell isthmus jamboree
javelin jetty jubilee juniper kaleidoscope kayak kestrel kiln labyrinth lagoon lantern larder
lattice lectern levee leviathan limerick locomotive loom lute lynchpin magnolia mandolin mangrove
marionette marquee mast meander menagerie meridian metronome minaret monolith mosaic mullion
narwhal nebula nomad oasis obelisk odyssey orchard origami osprey paddock pagoda palisade
pantheon papyrus parapet pavilion pendulum peninsula periscope pewter phalanx pinnacle plinth
plume portcullis prism quagmire quarry quasar quill rampart rapier rigging rotunda rudder
saffron sarcophagus satchel scabbard sextant sherbet silhouette sonnet spindle spire stalactite
stanchion steeple sundial tabernacle tambourine tapestry telescope tempest thimble thistle
tinderbox topiary torrent trellis trident trowel tundra turbine turret umbra vestibule viaduct
vortex walrus waterwheel weathervane whirlpool windmill yardarm zeppelin zenith ziggurat
""".split()


def _unique(words):
    seen = set()
    return [w for w in words if not (w in seen or seen.add(w))]


CONTENT: list[str] = _unique([w for w in _HEAD + _TAIL if w not in set(FUNCTION)])

# Single-token product names, in subjects and bodies ("PrintHub", "CloudVault", …).
PRODUCTS: list[str] = """
PrintHub CloudVault PayLine ShipWise DeskMate NoteBridge CalSync PhotoNest MailPilot DataForge
SoundBox HomeLink FitTrack TaskRunner BookShelf CodeLens ChatWave MapQuest TimeKeeper LockBox
SmartPlug ViewPort ScanPro LabelJet InvoiceNow TeamRoom StreamLine FileDrop KeyGuard NetMesh
""".split()

# Zipf-like weight of content word of rank k (0-based): each ticket draws its own few words with it.
ZIPF_S, ZIPF_OFFSET, WORDS_PER_TICKET = 1.2, 8, 20
COMMON_WORDS = CONTENT[:30]  # each in a large share of the tickets
MID_WORDS = CONTENT[300:600]  # each in ~0.5–2%
RARE_WORDS = CONTENT[-250:]  # each in ~0.1%


# --- progress -------------------------------------------------------------------------------------


class Progress:
    """One line on stderr: count, %, rate, ETA (rewritten in place on a terminal, else every 10 s)."""

    def __init__(self, total: int, label: str) -> None:
        self.total, self.label, self.done = total, label, 0
        self.started = self.shown = time.monotonic()
        self.tty = sys.stderr.isatty()

    def add(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if now - self.shown >= (0.5 if self.tty else 10) or self.done >= self.total:
            self.shown = now
            elapsed = now - self.started
            rate = self.done / elapsed if elapsed else 0
            eta = (self.total - self.done) / rate if rate else 0
            line = (
                f"{self.label} {self.done:>11,}/{self.total:,} {100 * self.done / self.total:5.1f}% "
                f"{rate:>9,.0f}/s  elapsed {_duration(elapsed)}  ETA {_duration(eta)}"
            )
            print(("\r" + line) if self.tty else line, end="" if self.tty else "\n", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.tty:
            print(file=sys.stderr, flush=True)


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s"


def log(message: str) -> None:
    print(message, flush=True)


# --- generation (in worker processes) -------------------------------------------------------------

TICKET_COLUMNS = (
    "id",
    "number",
    "subject",
    "status",
    "priority",
    "priority_rank",
    "category",
    "team",
    "requester",
    "requester_email",
    "requester_name",
    "assignee",
    "via",
    "created_at",
    "updated_at",
    "staff_replied_at",
    "customer_seen_at",
    "first_response_at",
    "solved_at",
    "closed_at",
    "csat_rating",
    "csat_comment",
    "csat_at",
    "merged_into",
    "first_response_minutes",
    "resolution_minutes",
    "first_response_breached",
    "resolution_breached",
)
# SLA targets in business minutes by priority rank (low … urgent), as the SLA policies would set them.
FIRST_RESPONSE_TARGET = (960, 480, 240, 60)
RESOLUTION_TARGET = (4800, 2880, 1440, 480)
BUSINESS_SHARE = 40 / 168  # business minutes per wall-clock minute, on average (Mon–Fri 9–17)
MESSAGE_COLUMNS = (
    "ticket",
    "author",
    "author_name",
    "author_is_staff",
    "kind",
    "body_source",
    "body_html",
    "via",
    "created_at",
)
TAG_COLUMNS = ("ticket", "tag")
DOC_COLUMNS = ("ticket", "subject", "people", "body")

_ctx: dict = {}


def _init_worker(context: dict) -> None:
    """Per process: the ids made by the main process, and cumulative weights for the draws."""
    _ctx.clear()
    _ctx.update(context)
    _ctx["word_cum"] = list(accumulate(1 / (k + ZIPF_OFFSET) ** ZIPF_S for k in range(len(CONTENT))))
    order = list(range(PEOPLE))
    random.Random(context["seed"]).shuffle(order)  # who files many tickets: not the low indexes
    _ctx["people_order"] = order
    _ctx["people_cum"] = list(accumulate(1 / (k + 1) ** 0.6 for k in range(PEOPLE)))
    _ctx["category_cum"] = list(accumulate(c[2] for c in CATEGORIES))
    _ctx["priority_cum"] = list(accumulate(p[2] for p in PRIORITIES))
    _ctx["status_norm"] = [(name, share / mean / (1 - math.exp(-1 / mean)), mean) for name, share, mean in STATUS_SHAPE]


def _status(rng: random.Random, age: float) -> str:
    """age: 0 = the newest ticket, 1 = the oldest."""
    u = rng.random()
    for name, scale, mean in _ctx["status_norm"]:
        u -= scale * math.exp(-age / mean)
        if u < 0:
            return name
    return "closed"


def _sentence(rng: random.Random, words: list[str], low: int = 5, high: int = 14) -> str:
    text = " ".join(rng.choices(words, k=rng.randint(low, high)))
    return text[0].upper() + text[1:] + "."


def _paragraph(rng: random.Random, words: list[str], sentences: int) -> str:
    return " ".join(_sentence(rng, words) for _ in range(sentences))


def _html(text: str) -> str:
    return "\n".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n\n"))


def make_batch(first: int, last: int, stamp_kind: str) -> tuple[list, list, list, list]:
    """Rows for tickets first … last-1 (ids = numbers): (tickets, messages, ticket_tags, search docs).
    Deterministic for (seed, first). Times are text for SQLite (as Piccolo stores them), else datetimes."""
    from portal.tickets.search import people_text

    c = _ctx
    rng = random.Random(f"{c['seed']}:{first}")
    total, now = c["tickets"], c["now"]
    start = now - YEARS * 365 * 86400
    step = (now - 60 - start) / total
    agents_by_team, all_agents = c["agents_by_team"], c["all_agents"]
    category_ids, tag_ids, customer_ids = c["category_ids"], c["tag_ids"], c["customer_ids"]
    per_ticket = c["messages_per_ticket"]
    min_messages = 2 if per_ticket >= 2 else 1
    # k = min_messages + Binomial(8 - min_messages, p): mean per_ticket (new tickets are shorter).
    p_more = min(1.0, max(0.0, ((per_ticket - 0.02 * 1.15) / 0.98 - min_messages) / (8 - min_messages)))
    utc = UTC
    if stamp_kind == "sqlite":

        def stamp(x):
            return None if x is None else datetime.fromtimestamp(x, utc).isoformat(" ", "microseconds")
    else:

        def stamp(x):
            return None if x is None else datetime.fromtimestamp(x, utc)

    function_words = FUNCTION
    tickets, messages, tags, docs = [], [], [], []
    for i in range(first, last):
        created = start + (i - 1 + rng.random()) * step
        age = (total - i) / total
        status = _status(rng, age)
        cat = bisect(c["category_cum"], rng.random() * c["category_cum"][-1])
        category_name, team_name, _ = CATEGORIES[cat]
        category = category_ids[category_name]
        if rng.random() < 0.04:
            category, team_name = None, (rng.choice(list(TEAMS)) if rng.random() < 0.5 else None)
        elif rng.random() < 0.03:
            team_name = rng.choice(list(TEAMS))  # moved to another team by hand
        team = c["team_ids"][team_name] if team_name else None
        pri = bisect(c["priority_cum"], rng.random() * c["priority_cum"][-1])
        priority, rank, _ = PRIORITIES[pri]
        who = c["people_order"][bisect(c["people_cum"], rng.random() * c["people_cum"][-1])]
        name, email = person(who)
        requester = customer_ids[who] if who < REGISTERED else None
        assignee_name = None
        assignee = None
        if rng.random() < ASSIGNED[status]:
            assignee, assignee_name = rng.choice(agents_by_team[team_name] if team_name else all_agents)
        via = "email" if rng.random() < 0.35 else "web"

        # Times: unsolved tickets were last touched somewhere between creation and now (recent
        # more likely); solved/closed ones were solved after hours to days, closed up to 4 days on.
        solved_at = closed_at = first_response = None
        if status in ("solved", "closed"):
            resolution = min(math.exp(rng.gauss(math.log(20 * 3600), 1.2)), (now - created) * 0.9)
            solved_at = created + max(resolution, 120)
            end = solved_at
            updated = solved_at
            if status == "closed":
                closed_at = solved_at + min(4 * 86400, (now - solved_at) * rng.random())
                updated = closed_at
        else:
            updated = now - (now - created) * rng.random() ** 2
            end = updated
        words = [CONTENT[bisect(c["word_cum"], rng.random() * c["word_cum"][-1])] for _ in range(WORDS_PER_TICKET)]
        mix = words + rng.sample(function_words, 11)
        product = rng.choice(PRODUCTS) if rng.random() < 0.6 else None
        code = error_code(rng.randrange(ERROR_CODES)) if rng.random() < 0.2 else None

        # The thread: customer first, then staff and customer in turns.
        if status == "new":
            count = 1 + (rng.random() < 0.15)
        else:
            count = min_messages + sum(rng.random() < p_more for _ in range(8 - min_messages))
        if count >= 2 and status != "new":
            first_response = created + min(math.exp(rng.gauss(math.log(2 * 3600), 1.3)), (end - created) * 0.5)
            first_response = max(first_response, created + 30)
            later = sorted(first_response + (end - first_response) * rng.random() for _ in range(count - 3))
            times = [created, first_response] + later + ([end] if count > 2 else [])
        else:
            times = (
                [created]
                + sorted(created + (end - created) * rng.random() for _ in range(count - 2))
                + ([end] if count > 1 else [])
            )
        staff_replied = None
        last_customer = created
        first = name.split()[0]
        bodies = []
        for position, at in enumerate(times):
            staff = position % 2 == 1 and status != "new"
            if not staff:
                if position == 0:
                    text = "Hello,\n\n" + _paragraph(rng, mix, rng.randint(2, 4))
                    if product:
                        text += f" I am using {product}."
                    if code:
                        text += f" The screen shows error {code}."
                    if (
                        category_name in ("Billing and invoices", "Refunds", "Delivery and shipping", "Returns")
                        and rng.random() < 0.5
                    ):
                        text += f" My order number is {i * 7 + 100_000_003}."
                    if rng.random() < 0.6:
                        text += "\n\n" + _paragraph(rng, mix, rng.randint(1, 3))
                    text += f"\n\nThanks,\n{first}"
                else:
                    text = _paragraph(rng, mix, rng.randint(1, 3))
                messages.append((i, requester, name, False, "public", text, _html(text), via, stamp(at)))
                last_customer = at
            else:
                agent_id, agent_name = (
                    (assignee, assignee_name) if assignee and rng.random() < 0.85 else rng.choice(all_agents)
                )
                if position > 1 and rng.random() < 0.12:
                    text = _paragraph(rng, mix, rng.randint(1, 2))
                    kind = "internal"
                else:
                    text = (
                        f"Hi {first},\n\n{_paragraph(rng, mix, rng.randint(1, 4))}\n\n"
                        f"Best regards,\n{agent_name.split()[0]}"
                    )
                    kind = "public"
                    staff_replied = at
                messages.append((i, agent_id, agent_name, True, kind, text, _html(text), "web", stamp(at)))
            bodies.append(text)
        if staff_replied is not None and rng.random() < 0.75:
            seen = min(staff_replied + rng.random() * 6 * 3600, now)
        else:
            seen = last_customer

        rating = comment = rated_at = None
        if status in ("solved", "closed") and rng.random() < 0.2:
            rating = "good" if rng.random() < 0.8 else "bad"
            comment = _sentence(rng, mix) if rng.random() < 0.3 else ""
            rated_at = min(solved_at + rng.random() * 86400, closed_at or now)
        merged = None
        if status == "closed" and i > 50 and rng.random() < 0.003:
            merged = i - rng.randint(1, 50)

        s = " ".join(rng.choices(words, k=rng.randint(3, 7)))
        subject = f"{product}: {s}" if product and rng.random() < 0.5 else s[0].upper() + s[1:]
        if code and rng.random() < 0.4:
            subject += f" (error {code})"
        # SLA outcomes as the SLA clock stores them: business minutes (a share of the wall-clock time
        # that varies with when the ticket arrived) and met/breached against the priority's targets;
        # ~5% of the tickets had no policy (all null), unanswered or unsolved ones are not decided yet.
        fr_minutes = res_minutes = fr_breached = res_breached = None
        if rng.random() >= 0.05:
            share = BUSINESS_SHARE * (0.4 + 1.2 * rng.random())
            if first_response is not None:
                fr_minutes = int((first_response - created) / 60 * share)
                fr_breached = fr_minutes > FIRST_RESPONSE_TARGET[rank]
            if solved_at is not None:
                res_minutes = int((solved_at - created) / 60 * share)
                res_breached = res_minutes > RESOLUTION_TARGET[rank]
        tickets.append(
            (
                i,
                i,
                subject[:200],
                status,
                priority,
                rank,
                category,
                team,
                requester,
                email,
                name,
                assignee,
                via,
                stamp(created),
                stamp(updated),
                stamp(staff_replied),
                stamp(seen),
                stamp(first_response),
                stamp(solved_at),
                stamp(closed_at),
                rating,
                comment or "",
                stamp(rated_at),
                merged,
                fr_minutes,
                res_minutes,
                fr_breached,
                res_breached,
            )
        )
        if rng.random() < 0.3:
            for tag in rng.sample(tag_ids, rng.choice((1, 1, 1, 2, 2, 3))):
                tags.append((i, tag))
        docs.append((i, subject[:200], people_text(name, email), "\n".join(bodies)))
    return tickets, messages, tags, docs


# --- booking ---------------------------------------------------------------------------------------

BOOKING_STAFF = range(1, 11)  # agent01 … agent10 offer the services, Mon–Fri 09:00–17:00 UTC
SERVICES = [
    ("onboarding-call", "Onboarding call", 30),
    ("product-demo", "Product demo", 60),
    ("repair-drop-off", "Repair drop-off", 30),
]
APPOINTMENT_COLUMNS = (
    "service",
    "staff",
    "customer",
    "customer_name",
    "customer_email",
    "customer_timezone",
    "answers",
    "start_at",
    "end_at",
    "status",
    "seats",
    "uid",
    "sequence",
    "manage_token_hash",
    "cancelled_at",
    "created_at",
    "updated_at",
)


async def seed_booking(loader, now: datetime, seed_value: int, staff_ids: list[int], customer_ids: list[int]) -> int:
    """3 services offered by 10 staff with weekly hours, and their appointments over the same 3 years
    (+60 days ahead): about half of the half-hour slots taken; in the past ~85% completed, 5% no-show,
    10% cancelled; ahead 90% booked, 10% cancelled. Lead times from hours to weeks."""
    from datetime import timedelta

    rng = random.Random(f"{seed_value}:booking")
    stamp = (
        (lambda x: None if x is None else x.isoformat(" ", "microseconds"))
        if loader.kind == "sqlite"
        else (lambda x: x)
    )
    await loader.insert(
        "service",
        ("slug", "name", "duration_minutes", "step_minutes", "created_at"),
        [(slug, name, minutes, 30, stamp(now)) for slug, name, minutes in SERVICES],
    )
    service_ids = [r[0] for r in await loader.fetch("SELECT id FROM service ORDER BY id")]
    await loader.insert("service_staff", ("service", "staff"), [(s, u) for s in service_ids for u in staff_ids])
    await loader.insert(
        "weekly_hours",
        ("staff", "weekday", "start_minute", "end_minute"),
        [(u, d, 540, 1020) for u in staff_ids for d in range(5)],
    )
    rows, n = [], 0
    first = (now - timedelta(days=YEARS * 365)).replace(hour=0, minute=0, second=0, microsecond=0)
    day = first
    while day < now + timedelta(days=60):
        if day.weekday() < 5:
            for staff in staff_ids:
                minute = 540
                while minute < 1020:
                    service = rng.randrange(len(SERVICES))
                    length = SERVICES[service][2]
                    if minute + length > 1020:
                        break
                    start = day + timedelta(minutes=minute)
                    if rng.random() < 0.5 and start - now < timedelta(days=60):
                        lead = timedelta(seconds=max(7200, math.exp(rng.gauss(math.log(4 * 86400), 1.1))))
                        created = min(start - lead, now) if start > now else start - lead
                        if start > now:
                            created = max(min(created, now - timedelta(minutes=5)), now - timedelta(days=60))
                        u = rng.random()
                        if start <= now:
                            status = "completed" if u < 0.85 else ("no_show" if u < 0.90 else "cancelled")
                        else:
                            status = "booked" if u < 0.9 else "cancelled"
                        cancelled = created + (start - created) * rng.random() if status == "cancelled" else None
                        if cancelled is not None and cancelled > now:
                            cancelled = now
                        customer = customer_ids[rng.randrange(len(customer_ids))]
                        n += 1
                        rows.append(
                            (
                                service_ids[service],
                                staff,
                                customer,
                                f"Customer {customer}",
                                f"customer{customer}@bench.example",
                                "UTC",
                                "{}",
                                stamp(start),
                                stamp(start + timedelta(minutes=length)),
                                status,
                                1,
                                f"bench-{n}@portal",
                                0,
                                f"{n:064x}",
                                stamp(cancelled),
                                stamp(created),
                                stamp(cancelled or created),
                            )
                        )
                        if len(rows) >= 20_000:
                            await loader.insert("appointment", APPOINTMENT_COLUMNS, rows)
                            rows = []
                    minute += length
        day += timedelta(days=1)
    if rows:
        await loader.insert("appointment", APPOINTMENT_COLUMNS, rows)
    return n


# --- loading --------------------------------------------------------------------------------------

LOADED_TABLES = ("ticket", "message", "ticket_tag", "ticket_search")


async def migrate_fresh(database_url: str) -> None:
    """Wipe, then run every migration of the app (so tables added later are there too)."""
    from portal import db

    engine = db.make_engine(database_url)
    db.use_engine(engine)
    if db.is_sqlite(engine):
        path = db.sqlite_path(database_url)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        await engine._run_in_new_connection("DROP SCHEMA IF EXISTS public CASCADE")
        await engine._run_in_new_connection("CREATE SCHEMA public")
    async with db.engine_open(engine):
        applied = await db.migrate(verbose=False)
    log(f"migrated: {len(applied)} migrations")


def password_hash() -> str:
    """One real argon2id hash of PASSWORD (the app's own hasher), shared by every seeded account."""
    from portal.accounts.passwords import _hasher

    return _hasher.hash(PASSWORD)


def base_rows(now: datetime, hashed: str) -> dict:
    """Users, teams, team members, categories and tags (before their ids are known)."""
    users = [(ADMIN_EMAIL, "Ada Admin", "admin", False)]
    for n in range(1, AGENTS + 1):
        users.append(
            (
                agent_email(n),
                f"{FIRST_NAMES[(n * 7) % len(FIRST_NAMES)]} {LAST_NAMES[(n * 11) % len(LAST_NAMES)]}",
                "agent",
                n in LIMITED_AGENTS,
            )
        )
    for index in range(REGISTERED):
        name, email = person(index)
        users.append((email, name, "customer", False))
    return {
        "users": [
            (email, name, hashed, role, "UTC", "en", True, now, 1, now, True, limited)
            for email, name, role, limited in users
        ]
    }


USER_COLUMNS = (
    "email",
    "name",
    "password_hash",
    "role",
    "timezone",
    "locale",
    "is_active",
    "email_verified_at",
    "session_version",
    "created_at",
    "is_available",
    "limited_to_teams",
)


class SQLiteLoader:
    kind = "sqlite"

    def __init__(self, path: Path) -> None:
        import sqlite3

        import piccolo.engine.sqlite  # noqa: F401  (registers its datetime adapter: same text as the app)

        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None)
        for pragma in (
            "journal_mode=OFF",
            "synchronous=OFF",
            "cache_size=-1000000",
            "temp_store=MEMORY",
            "foreign_keys=OFF",
        ):
            self.db.execute(f"PRAGMA {pragma}")
        self.indexes: list[tuple[str, str]] = []

    async def insert(self, table: str, columns: tuple, rows: list) -> None:
        names = ", ".join(f'"{c}"' for c in columns)
        self.db.execute("BEGIN")
        self.db.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" * len(columns))})', rows)
        self.db.execute("COMMIT")

    async def fetch(self, sql: str) -> list[tuple]:
        return self.db.execute(sql).fetchall()

    async def before_load(self) -> None:
        tables = ", ".join(f"'{t}'" for t in LOADED_TABLES)
        self.indexes = self.db.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({tables})"
        ).fetchall()
        for name, _ in self.indexes:
            self.db.execute(f'DROP INDEX "{name}"')

    async def load(self, batch) -> None:
        tickets, messages, tags, docs = batch
        db = self.db
        db.execute("BEGIN")
        # The queue_tally triggers stay on: they keep the counts while we insert.
        db.executemany(
            f"INSERT INTO ticket ({', '.join(TICKET_COLUMNS)}) VALUES ({', '.join('?' * len(TICKET_COLUMNS))})", tickets
        )
        db.executemany(
            f"INSERT INTO message ({', '.join(MESSAGE_COLUMNS)}) VALUES ({', '.join('?' * len(MESSAGE_COLUMNS))})",
            messages,
        )
        db.executemany("INSERT INTO ticket_tag (ticket, tag) VALUES (?, ?)", tags)
        db.executemany("INSERT INTO ticket_fts (rowid, subject, people, body) VALUES (?, ?, ?, ?)", docs)
        db.execute("COMMIT")

    async def after_load(self) -> None:
        db = self.db
        with timed("recreate indexes"):
            for _, sql in self.indexes:
                db.execute(sql)
        with timed("FTS5 optimize (merge segments)"):
            db.execute("INSERT INTO ticket_fts (ticket_fts) VALUES ('optimize')")
        with timed("ANALYZE"):
            db.execute("ANALYZE")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA optimize")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()

    def size(self) -> str:
        return _size(
            sum(Path(f"{self.path}{s}").stat().st_size for s in ("", "-wal") if Path(f"{self.path}{s}").exists())
        )


class PostgresLoader:
    kind = "postgres"

    def __init__(self, url: str) -> None:
        self.url = url
        self.indexes: list[tuple[str, str]] = []

    async def open(self) -> None:
        import asyncpg

        self.db = await asyncpg.connect(self.url)
        await self.db.execute("SET maintenance_work_mem = '1GB'")
        await self.db.execute("SET synchronous_commit = off")

    async def insert(self, table: str, columns: tuple, rows: list) -> None:
        await self.db.copy_records_to_table(table, records=rows, columns=list(columns))

    async def fetch(self, sql: str) -> list[tuple]:
        return [tuple(r) for r in await self.db.fetch(sql)]

    async def before_load(self) -> None:
        # Replica mode: no FK checks, no user triggers (the tallies are rebuilt at the end).
        await self.db.execute("SET session_replication_role = replica")
        self.indexes = [
            (r["indexname"], r["indexdef"])
            for r in await self.db.fetch(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' "
                "AND i.tablename = ANY($1::text[]) AND NOT EXISTS "
                "(SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
                list(LOADED_TABLES),
            )
        ]
        for name, _ in self.indexes:
            await self.db.execute(f'DROP INDEX "{name}"')
        await self.db.execute("CREATE UNLOGGED TABLE bench_doc (ticket integer, subject text, people text, body text)")

    async def load(self, batch) -> None:
        from portal.tickets.search import PG_DOCUMENT

        tickets, messages, tags, docs = batch
        async with self.db.transaction():
            await self.db.copy_records_to_table("ticket", records=tickets, columns=list(TICKET_COLUMNS))
            await self.db.copy_records_to_table("message", records=messages, columns=list(MESSAGE_COLUMNS))
            await self.db.copy_records_to_table("ticket_tag", records=tags, columns=list(TAG_COLUMNS))
            await self.db.copy_records_to_table("bench_doc", records=docs, columns=list(DOC_COLUMNS))
            await self.db.execute(
                "INSERT INTO ticket_search (ticket, document) SELECT ticket, "
                f"{PG_DOCUMENT.format('subject', 'people', 'body')} FROM bench_doc"
            )
            await self.db.execute("TRUNCATE bench_doc")

    async def after_load(self) -> None:
        db = self.db
        await db.execute("DROP TABLE bench_doc")
        await db.execute("SELECT setval(pg_get_serial_sequence('ticket', 'id'), (SELECT MAX(id) FROM ticket))")
        with timed("recreate indexes"):
            for _, sql in self.indexes:
                await db.execute(sql)
        await db.execute("SET session_replication_role = DEFAULT")
        with timed("rebuild queue_tally"):
            async with db.transaction():
                await db.execute("DELETE FROM queue_tally")
                await db.execute(
                    "INSERT INTO queue_tally (status, team, assignee, n) SELECT status, COALESCE(team, 0), "
                    "COALESCE(assignee, 0), COUNT(*) FROM ticket GROUP BY status, COALESCE(team, 0), "
                    "COALESCE(assignee, 0)"
                )
        with timed("rebuild ticket_week_stat"):
            from portal.backoffice import rollup

            async with db.transaction():
                await db.execute("DELETE FROM ticket_week_stat")
                for statement in rollup.backfill_statements(rollup.POSTGRES_WEEK):
                    await db.execute(statement)
        with timed("VACUUM ANALYZE"):
            await db.execute("VACUUM ANALYZE")
        self.bytes = await db.fetchval("SELECT pg_database_size(current_database())")
        await db.close()

    def size(self) -> str:
        return _size(self.bytes)


def _size(n: int) -> str:
    return f"{n / 2**30:.2f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


class timed:
    def __init__(self, what: str) -> None:
        self.what = what

    def __enter__(self):
        self.started = time.monotonic()
        return self

    def __exit__(self, *exc) -> None:
        if exc[0] is None:
            log(f"{self.what}: {time.monotonic() - self.started:.1f} s")


async def seed(args) -> None:
    from portal import db

    started = time.monotonic()
    url = args.database_url
    await migrate_fresh(url)
    if db.is_sqlite(db.current_engine()):
        loader = SQLiteLoader(db.sqlite_path(url))
    else:
        loader = PostgresLoader(url)
        await loader.open()
    now = datetime.now(UTC).replace(microsecond=0)
    hashed = password_hash()
    with timed("users, teams, categories, tags"):
        await loader.insert("portal_user", USER_COLUMNS, base_rows(now, hashed)["users"])
        ids = dict(await loader.fetch("SELECT email, id FROM portal_user"))
        names = dict(await loader.fetch("SELECT id, name FROM portal_user"))
        await loader.insert("team", ("name", "created_at", "round_robin"), [(t, now, False) for t in TEAMS])
        team_ids = dict(await loader.fetch("SELECT name, id FROM team"))
        await loader.insert(
            "team_member",
            ("team", "user"),
            [(team_ids[t], ids[agent_email(n)]) for t, members in TEAMS.items() for n in members],
        )
        await loader.insert(
            "category",
            ("name", "team", "position", "is_active"),
            [
                (name, team_ids[team] if team else None, position, True)
                for position, (name, team, _) in enumerate(CATEGORIES)
            ],
        )
        category_ids = dict(await loader.fetch("SELECT name, id FROM category"))
        await loader.insert("tag", ("name",), [(t,) for t in TAGS])
        tag_ids = [r[0] for r in await loader.fetch("SELECT id FROM tag ORDER BY id")]

    def agent(n):
        return ids[agent_email(n)], names[ids[agent_email(n)]]

    context = {
        "seed": args.seed,
        "tickets": args.tickets,
        "now": now.timestamp(),
        "messages_per_ticket": args.messages_per_ticket,
        "team_ids": team_ids,
        "category_ids": category_ids,
        "tag_ids": tag_ids,
        "customer_ids": [ids[person(i)[1]] for i in range(REGISTERED)],
        "agents_by_team": {t: [agent(n) for n in members] for t, members in TEAMS.items()},
        "all_agents": [agent(n) for n in range(1, AGENTS + 1)],
    }
    await loader.before_load()
    progress = Progress(args.tickets, "tickets")
    made_messages = 0
    load_started = time.monotonic()
    bounds = [(a, min(a + args.batch, args.tickets + 1)) for a in range(1, args.tickets + 1, args.batch)]
    with ProcessPoolExecutor(max_workers=args.jobs, initializer=_init_worker, initargs=(context,)) as pool:
        pending = []
        queue = iter(bounds)
        for a, b in queue:
            pending.append(pool.submit(make_batch, a, b, loader.kind))
            if len(pending) >= args.jobs + 2:
                break
        while pending:
            batch = await asyncio.wrap_future(pending.pop(0))
            for a, b in queue:  # keep the workers busy while this batch is written
                pending.append(pool.submit(make_batch, a, b, loader.kind))
                break
            await loader.load(batch)
            made_messages += len(batch[1])
            progress.add(len(batch[0]))
    progress.close()
    log(f"loaded {args.tickets:,} tickets, {made_messages:,} messages in {time.monotonic() - load_started:.0f} s")
    with timed("services, staff hours, appointments"):
        made = await seed_booking(
            loader,
            now,
            args.seed,
            [ids[agent_email(n)] for n in BOOKING_STAFF],
            list(ids.values())[AGENTS + 1 : AGENTS + 1 + 5000],
        )
    log(f"loaded {made:,} appointments")
    await loader.after_load()
    elapsed = time.monotonic() - started
    log(f"done in {_duration(elapsed)} ({elapsed:.0f} s); database size {loader.size()}")
    log(
        f"\ndatabase: {url}\nserve it: PORTAL_DATABASE_URL={url} PORTAL_WORKER=off PORTAL_SERVER_TIMING=1 "
        f".venv/bin/portal serve --no-migrate\nlog in as {agent_email(1)} (or {ADMIN_EMAIL}) with password "
        f"{PASSWORD}; ticket numbers 1 … {args.tickets} (load.py --max-number {args.tickets})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--messages-per-ticket", type=float, default=3.0, help="average, 1–8 per ticket")
    parser.add_argument("--database-url", default="", help="postgresql://… (wiped!) or sqlite:///…")
    parser.add_argument("--path", default="", help="SQLite file (wiped!); default: a temp directory")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--jobs", type=int, default=max(1, (os.cpu_count() or 2) - 1), help="generator processes")
    parser.add_argument("--batch", type=int, default=5000, help="tickets per transaction")
    args = parser.parse_args()
    if not args.database_url:
        path = Path(args.path) if args.path else Path(tempfile.mkdtemp(prefix="tickets-bench-")) / "tickets.sqlite3"
        args.database_url = f"sqlite:///{path.resolve()}"
    os.environ.setdefault("PORTAL_VAR_DIR", tempfile.mkdtemp(prefix="portal-seed-"))
    os.environ.setdefault("PORTAL_SECRET_KEY", "bench")
    log(
        f"seeding {args.tickets:,} tickets (~{args.tickets * args.messages_per_ticket:,.0f} messages) into "
        f"{args.database_url}"
    )
    asyncio.run(seed(args))


if __name__ == "__main__":
    main()
