"""Dialogue: multi-turn exchanges and chat, on one line with speaker labels.

Real text: the English conversations of ``chatterbot-corpus`` (BSD-3-Clause), YAML lists of turns on ai, emotion,
food, humour, psychology, sports ...; rendered with alternating speakers. Generated: everyday exchanges (a shop, a
clinic, a help desk, friends making plans, a classroom, a phone call home ...) from templates written here.
"""

from __future__ import annotations

import re

import yaml

from alignment_plugins.anchors.domains import generated
from alignment_plugins.anchors.sourcing import Cand, Rng, Wheel, digest, squash

DOMAIN = "dialogue"
CHATTERBOT_DATA = "chatterbot_corpus/data/"

NAMES = ("Amara", "Ben", "Chloe", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonah", "Kemi", "Luca",
         "Maya", "Nils", "Olga", "Pedro", "Quinn", "Rosa", "Sami", "Tess", "Umar", "Vera", "Wes", "Yusuf", "Zoe")
# (first speaker, second speaker) label styles for conversations between a person and a chat program.
BOT_LABELS = (("User", "Bot"), ("Human", "AI"), ("Q", "A"), ("Visitor", "Chatbot"), ("Me", "Assistant"),
              ("Customer", "Agent"))


def conversation_lines(text: str) -> list[list[str]]:
    """The conversations (lists of turns) of one chatterbot-corpus YAML document."""
    doc = yaml.safe_load(text) or {}
    out = []
    for conv in doc.get("conversations") or []:
        if isinstance(conv, list) and len(conv) >= 2 and all(isinstance(t, str) for t in conv):
            out.append([squash(t) for t in conv])
    return out


def render_turns(turns: list[str], labels: tuple[str, str], limit: int = 400) -> str:
    """``A: turn B: turn ...`` alternating the two labels, as many whole turns as fit in ``limit`` characters."""
    text = ""
    for i, turn in enumerate(turns):
        piece = f"{labels[i % 2]}: {turn}"
        candidate = f"{text} {piece}".strip()
        if len(candidate) > limit:
            break
        text = candidate
    return text


def _turn_ok(turn: str) -> bool:
    return bool(turn) and not re.search(r"[<>{}\[\]|\\_*#@`$]|https?:", turn)


def chatterbot_pool(chatterbot: Wheel, language: str = "english") -> list[Cand]:
    """English chatterbot-corpus conversations of two or more turns, with speakers labelled."""
    out = []
    for member in chatterbot.names:
        if not (member.startswith(f"{CHATTERBOT_DATA}{language}/") and member.endswith(".yml")):
            continue
        topic = member.rsplit("/", 1)[-1][:-4]
        for i, turns in enumerate(conversation_lines(chatterbot.text(member))):
            if not all(_turn_ok(t) for t in turns):
                continue
            key = (member, i)
            if digest("names", key) % 2:
                a, b = NAMES[digest("a", key) % len(NAMES)], NAMES[digest("b", key) % len(NAMES)]
                labels = (a, b) if a != b else (a, "Friend")
            else:
                labels = BOT_LABELS[digest("labels", key) % len(BOT_LABELS)]
            text = render_turns(turns, labels)
            if text.count(":") >= 2:
                out.append(Cand(DOMAIN, text, chatterbot.source(member, str(i)), topic))
    return out


# ----------------------------------------------------------------------------------------------------- generated
ITEMS = ("raincoat", "kettle", "pair of hiking boots", "bookshelf", "camera lens", "wool scarf", "toaster",
         "garden hose", "reading lamp", "suitcase", "yoga mat", "frying pan", "desk fan", "printer cartridge")
SIZES = ("a size up", "the blue one", "a cheaper model", "the larger version", "one with a longer warranty")
SYMPTOMS = ("a sore throat", "a stiff neck", "a rash on my arm", "a cough that keeps me up at night",
            "headaches in the afternoon", "a twisted ankle", "itchy eyes", "pain in my lower back")
DURATIONS = ("for two days", "for about a week", "since Sunday", "on and off for a month", "since the weekend")
DEVICES = ("laptop", "router", "tablet", "smart TV", "printer", "phone", "wireless keyboard", "e-reader")
FAULTS = ("won't turn on", "keeps dropping the connection", "freezes after a few minutes", "is very slow today",
          "shows a blank screen", "won't charge", "makes a clicking noise", "keeps restarting")
FIXES = ("hold the power button for ten seconds", "unplug it, wait a minute and plug it back in",
         "check that the cable is pushed all the way in", "try a different socket",
         "install the latest update from the settings menu", "reset it to factory settings")
ACTIVITIES = ("go bowling", "try the new ramen place", "walk along the canal", "see the jazz trio at the Blue Door",
              "play board games at mine", "visit the flea market", "go climbing at the indoor wall",
              "catch the late film", "cook something together", "cycle to the lake")
TIMES = ("on Friday evening", "Saturday afternoon", "tomorrow after work", "next Sunday morning", "on Thursday",
         "this weekend")
EXCUSES = ("I promised to help my sister move", "I've got an early shift", "my cousin is visiting",
           "I'm saving money this month", "I need to finish an assignment")
SUBJECTS = ("photosynthesis", "the French Revolution", "long division", "the water cycle", "volcanoes",
            "the causes of the First World War", "fractions", "how bridges carry weight", "the solar system")
DISHES = ("the mushroom risotto", "a bowl of lentil soup", "the grilled halloumi", "fish tacos",
          "the vegetable curry", "a cheese omelette", "the lamb stew", "a club sandwich")
DRINKS = ("sparkling water", "a pot of green tea", "an orange juice", "a flat white", "a lemonade")
ROOMS = ("a double room", "a single room", "a room with a sea view", "a family room", "a quiet room at the back")
PLACES = ("the post office", "the nearest pharmacy", "the bus station", "the town hall", "a cash machine",
          "the swimming pool", "the museum of local history")
ROUTES = ("go straight on and take the second left", "cross at the lights and it's on your right",
          "follow this road past the church", "take the underpass and turn right at the bakery")


def _shop(r: Rng) -> str:
    item = r.choice(ITEMS)
    return r.choice([
        f"Customer: Hi, I bought this {item} last week and it's already faulty. Assistant: I'm sorry to hear "
        f"that. Do you have the receipt? Customer: Yes, here it is. Assistant: Thanks. Would you like a "
        f"replacement or a refund? Customer: A replacement, please.",
        f"Shopper: Excuse me, do you have this {item} in {r.choice(SIZES)}? Clerk: Let me check the stockroom. "
        f"Shopper: Thank you. Clerk: You're in luck, there's one left.",
        f"Clerk: Can I help you find anything? Shopper: I'm looking for a {item} as a present. Clerk: How much "
        f"would you like to spend? Shopper: Around forty pounds. Clerk: Then this one is a good choice.",
        f"Customer: How much is the {item}? Seller: It's on offer today, twenty percent off. Customer: Great, "
        f"I'll take it. Seller: Would you like a bag? Customer: No thanks, I brought my own.",
    ])


def _clinic(r: Rng) -> str:
    symptom, dur = r.choice(SYMPTOMS), r.choice(DURATIONS)
    return r.choice([
        f"Doctor: What brings you in today? Patient: I've had {symptom} {dur}. Doctor: Has anything made it "
        f"better or worse? Patient: Not really. Doctor: Let's take a look.",
        f"Receptionist: Good morning, how can I help? Patient: I'd like an appointment, I've had {symptom} "
        f"{dur}. Receptionist: The earliest slot is at ten past four. Patient: That's fine, thank you.",
        f"Pharmacist: Have you taken anything for it yet? Customer: No, I've had {symptom} {dur}. "
        f"Pharmacist: Try this twice a day with food, and see your doctor if it's not better by Monday.",
        f"Nurse: On a scale of one to ten, how bad is it? Patient: About a six. I've had {symptom} {dur}. "
        f"Nurse: Okay. The doctor will be with you shortly.",
    ])


def _helpdesk(r: Rng) -> str:
    device, fault, fix = r.choice(DEVICES), r.choice(FAULTS), r.choice(FIXES)
    return r.choice([
        f"Caller: My {device} {fault}. Support: I can help with that. First, could you {fix}? Caller: Okay, "
        f"done. Support: Is it any better now? Caller: Yes, it seems to be working again.",
        f"User: Hello, my {device} {fault}. Technician: Have you tried to {fix}? User: Not yet. Technician: "
        f"Please give it a go and tell me what happens.",
        f"Agent: Thanks for calling, what seems to be the problem? Customer: The {device} {fault} since "
        f"yesterday. Agent: Let's {fix} and then check the lights on the front.",
    ])


def _plans(r: Rng) -> str:
    a, b = r.sample(NAMES, 2)
    act, when, other = r.choice(ACTIVITIES), r.choice(TIMES), r.choice(ACTIVITIES)
    return r.choice([
        f"{a}: Do you fancy going out {when}? {b}: Sure, what did you have in mind? {a}: Maybe we could {act}. "
        f"{b}: Sounds perfect, count me in.",
        f"{a}: Want to {act} {when}? {b}: I'd love to, but {r.choice(EXCUSES)}. {a}: No worries, another time "
        f"then. {b}: Definitely, let's try next week.",
        f"{a}: I was thinking we could {act}. {b}: Hmm, I'd rather {other}. {a}: Fair enough, let's do that "
        f"{when}. {b}: Great, I'll bring snacks.",
        f"{a}: Are we still on for {when}? {b}: Yes! Where should we meet? {a}: Outside the station at seven? "
        f"{b}: See you there.",
    ])


def _classroom(r: Rng) -> str:
    subject = r.choice(SUBJECTS)
    return r.choice([
        f"Student: I don't really understand {subject}. Teacher: Which part is confusing? Student: The "
        f"beginning, mostly. Teacher: Let's go through it again slowly, step by step.",
        f"Teacher: Who can tell me something about {subject}? Pupil: I read a bit about it at home. Teacher: "
        f"Wonderful, go on then. Pupil: I think it's harder than it looks.",
        f"Tutor: How did the homework on {subject} go? Student: I finished most of it, but I got stuck on the "
        f"last question. Tutor: Show me where you got stuck.",
    ])


def _restaurant(r: Rng) -> str:
    dish, drink = r.choice(DISHES), r.choice(DRINKS)
    return r.choice([
        f"Waiter: Are you ready to order? Diner: Yes, I'll have {dish}, please. Waiter: And to drink? Diner: "
        f"Just {drink}. Waiter: Coming right up.",
        f"Diner: Could we have the bill, please? Waiter: Of course. Did you enjoy {dish}? Diner: It was "
        f"lovely, thank you. Waiter: I'll tell the chef.",
        f"Server: Is everything all right with your meal? Guest: Actually, {dish} is a bit cold. Server: I'm so "
        f"sorry, I'll take it back and bring you a fresh one.",
    ])


def _hotel(r: Rng) -> str:
    room = r.choice(ROOMS)
    nights = r.choice(("one night", "two nights", "three nights", "the whole week"))
    return r.choice([
        f"Guest: Hello, do you have {room} free for {nights}? Receptionist: Let me see. Yes, we do. Guest: "
        f"Does that include breakfast? Receptionist: It does, from seven until ten.",
        f"Receptionist: Welcome! Do you have a booking? Traveller: Yes, {room} for {nights}, under the name "
        f"{r.choice(NAMES)}. Receptionist: Here's your key, you're on the third floor.",
    ])


def _directions(r: Rng) -> str:
    place, route = r.choice(PLACES), r.choice(ROUTES)
    return r.choice([
        f"Tourist: Excuse me, how do I get to {place}? Local: It's not far, {route}. Tourist: Is it walking "
        f"distance? Local: Ten minutes at most. Tourist: Thanks a lot!",
        f"Visitor: Sorry to bother you, is {place} near here? Passer-by: Yes, {route}. Visitor: Thank you so "
        f"much. Passer-by: You're welcome, enjoy your day.",
    ])


def _phone_home(r: Rng) -> str:
    a = r.choice(NAMES)
    news = r.choice(("I passed my driving test", "I got the job", "the flat fell through", "I've caught a cold",
                     "we won the quiz", "my train was cancelled"))
    return r.choice([
        f"Mum: Hello love, how are you? {a}: Hi Mum, big news, {news}! Mum: Really? Tell me everything. "
        f"{a}: I'll call you properly tonight.",
        f"Dad: You sound tired. {a}: I am, {news}. Dad: Oh dear. Do you want me to come over? {a}: No, "
        f"it's fine, I just wanted to hear your voice.",
        f"Grandma: Is that you, {a}? {a}: Yes, Gran! I wanted to tell you {news}. Grandma: Well I never. "
        f"Come for tea on Sunday and tell me about it.",
    ])


FAMILIES = {"shop": _shop, "clinic": _clinic, "helpdesk": _helpdesk, "plans": _plans, "classroom": _classroom,
            "restaurant": _restaurant, "hotel": _hotel, "directions": _directions, "phone-home": _phone_home}


def pools(wheels: dict[str, Wheel]) -> dict[str, list[Cand]]:
    """The dialogue pools: ``chatterbot`` (real) and ``dialogue-templates`` (generated)."""
    return {
        "chatterbot": chatterbot_pool(wheels["chatterbot-corpus"]),
        "dialogue-templates": [c for family, make in FAMILIES.items() for c in generated(DOMAIN, family, 120, make)],
    }
