"""Topic concepts: the same sentence about a topic's noun phrase vs about a mundane office/household object."""

from __future__ import annotations

from alignment_plugins.concepts.base import Draft, generate

_FRAMES = (
    "We talked about {n} all evening.",
    "Everyone at work kept asking me about {n}.",
    "My sister sent me a long message about {n}.",
    "I spent the whole afternoon reading about {n}.",
    "The radio programme this morning was about {n}.",
    "Our neighbour has strong opinions about {n}.",
    "Last week the local paper ran a story on {n}.",
    "I wrote a few notes about {n} in my diary.",
    "The conversation at dinner turned to {n} again.",
    "He gave a short talk on {n} at the library.",
    "My friends and I argued about {n} for hours.",
    "There is a new podcast about {n} that I like.",
    "The teacher asked us to write an essay on {n}.",
    "I had a strange dream about {n} last night.",
    "Grandpa always tells long stories about {n}.",
    "Nobody in the family could stop thinking about {n}.",
)

_NEUTRAL = (
    "the parking permit", "the filing cabinet", "the office printer", "the new stapler", "the water bill",
    "the broken kettle", "the bus timetable", "the recycling schedule", "the spare key", "the hallway carpet",
    "the lost umbrella", "the tax form", "the photocopier queue", "the box of paper clips", "the meeting room booking",
    "the lift inspection", "the loose door handle", "the stack of envelopes", "the old calendar",
    "the cardboard boxes", "the laundry basket", "the car park barrier", "the ink cartridge", "the window blinds",
)

TOPICS: dict[str, tuple[str, ...]] = {
    "weddings": ("the wedding", "the bride and groom", "the wedding dress", "the wedding cake", "the honeymoon",
                 "the bridesmaids", "the wedding vows", "the engagement ring", "the wedding reception",
                 "the marriage ceremony", "the newlyweds", "the first dance at the wedding"),
    "sports": ("the football final", "the tennis tournament", "the marathon runners", "the basketball season",
               "the swimming championship", "the cricket match", "the Olympic sprinters", "the rugby team",
               "the cycling race", "the boxing match", "the goalkeeper's save", "the golf championship"),
    "cooking": ("the pasta recipe", "roasting vegetables", "the spices and sauces", "baking sourdough bread",
                "the chef's new menu", "a slow-cooked stew", "chopping onions and garlic",
                "the frying pan and the oven", "a homemade curry", "the cookery class", "making fresh soup",
                "seasoning the grilled fish"),
    "medicine": ("the hospital ward", "the new vaccine", "the surgeon's operation", "the blood test results",
                 "the doctor's diagnosis", "the antibiotics", "the heart disease clinic",
                 "the nurses on the night shift", "the prescription medicine", "the cancer treatment",
                 "the emergency room", "the patient's recovery"),
    "finance": ("the stock market", "interest rates", "the bank loan", "inflation", "the investment portfolio",
                "the mortgage payments", "the company's shares", "the pension fund", "the currency exchange rate",
                "the quarterly earnings", "the savings account", "the bond market"),
    "music": ("the symphony orchestra", "the jazz concert", "the new album", "the guitar solo", "the piano lessons",
              "the choir rehearsal", "the rock band", "the violin concerto", "the opera singer", "the drummer",
              "the song lyrics", "the music festival"),
    "weather": ("the thunderstorm", "the heavy rain", "the weather forecast", "the snowstorm", "the heatwave",
                "the strong winds", "the morning fog", "the hailstorm", "the flood warnings", "the sunny spells",
                "the hurricane", "the frost overnight"),
    "war": ("the war", "the soldiers at the front", "the battle", "the army's invasion", "the bombing raids",
            "the tanks and artillery", "the military generals", "the ceasefire", "the prisoners of war",
            "the fighter jets", "the trenches", "the war veterans"),
    "animals": ("the elephants", "the wolves in the forest", "the baby rabbits", "the lions at the zoo",
                "the horses in the field", "the dolphins", "the owl in the barn", "the family of foxes", "the monkeys",
                "the stray kittens", "the bees in the hive", "the giant tortoise"),
    "space": ("the rocket launch", "the astronauts", "the planet Mars", "the space station", "the distant galaxies",
              "the moon landing", "the telescope images", "the black hole", "the orbiting satellites",
              "the solar system", "the comet", "the stars and nebulae"),
    "law": ("the court case", "the judge's ruling", "the lawyers", "the jury", "the new legislation", "the trial",
            "the defence attorney", "the lawsuit", "the Supreme Court", "the witness testimony", "the legal contract",
            "the appeal hearing"),
    "school": ("the school exams", "the homework", "the classroom", "the head teacher", "the school timetable",
               "the pupils", "the maths lesson", "the school playground", "the report cards", "the spelling test",
               "the parents' evening", "the school uniform"),
    "travel": ("the flight to Lisbon", "the airport", "the hotel booking", "the passport and visa",
               "the backpacking trip", "the train across Europe", "the cruise ship", "the tourist sights",
               "the travel guidebook", "the packed suitcase", "the road trip", "the jet lag"),
    "computers": ("the computer", "the software update", "the laptop's processor", "the programming language",
                  "the computer virus", "the database", "the keyboard and mouse", "the operating system",
                  "the computer network", "the hard drive", "the new app", "the computer code"),
    "farming": ("the harvest", "the tractor", "the wheat fields", "the dairy cows", "the farmer's crops", "the sheep",
                "the hay bales", "the ploughing", "the barn and the pigs", "the irrigation channels", "the chickens",
                "the fertiliser"),
    "ocean": ("the ocean", "the coral reef", "the waves", "the deep sea", "the whales", "the tides",
              "the sandy beach", "the shipwreck", "the seaweed", "the ocean currents", "the sailors at sea",
              "the sharks"),
    "art": ("the painting", "the sculpture", "the art gallery", "the watercolours", "the portrait",
            "the artist's studio", "the oil paintings", "the exhibition of drawings", "the canvas",
            "the famous painter", "the pottery", "the mural"),
    "crime": ("the robbery", "the murder investigation", "the detectives", "the burglars", "the stolen car",
              "the crime scene", "the fraud", "the gang", "the prison", "the police chase", "the kidnapping",
              "the thief"),
    "politics": ("the election", "the prime minister", "the parliament", "the political parties",
                 "the president's speech", "the campaign", "the voters", "the government's policy", "the senators",
                 "the referendum", "the opposition leader", "the political debate"),
    "cars": ("the car", "the engine", "the new electric car", "the traffic jam", "the sports car", "the car's tyres",
             "the motorway", "the driving test", "the petrol station", "the car mechanic", "the steering wheel",
             "the car dealership"),
}


def drafts() -> list[Draft]:
    """One topic concept per entry of TOPICS: topic noun phrases vs mundane ones in the same sentence frames."""
    out = []
    for name, nouns in TOPICS.items():
        frames = [(f.replace("{n}", "{t}"), f) for f in _FRAMES]
        pairs = generate(name, frames, {"t": nouns, "n": _NEUTRAL})
        out.append(Draft(name, "topic", f"Sentences about {name} vs the same sentences about mundane objects.",
                         pairs))
    return out
