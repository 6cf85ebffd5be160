"""Common English words labelled by hand, to measure the vocabulary filter.

Each entry maps a word to the classes that count as correct for it:
`"adj"` (kept as an adjective), `"noun"` (kept as a noun) or `"reject"`
(verbs, adverbs, numbers and function words, which a vision codebook must
not contain). A few words that are both a colour or material adjective and a
noun accept either class. The words were chosen and labelled before the
filter was written, by visual category (colours, textures, shapes,
materials, sizes, other visual adjectives; animals, objects, food, people,
scenes, body parts; verbs; function words).
"""

ADJ = ("adj",)
NOUN = ("noun",)
REJECT = ("reject",)
ADJ_OR_NOUN = ("adj", "noun")


def _labels(words, classes):
    return [(word, classes) for word in words.split()]


def _merge(*groups):
    merged = {}
    for group in groups:
        for word, classes in group:
            if word in merged:
                raise ValueError(f"{word!r} is labelled twice.")
            merged[word] = classes
    return merged


LABELLED_WORDS = _merge(
    # Colours.
    _labels(
        "red blue green yellow black white brown purple pink gray grey "
        "golden dark bright pale colorful",
        ADJ,
    ),
    _labels("orange silver", ADJ_OR_NOUN),
    # Textures and surfaces.
    _labels(
        "smooth rough soft hard fuzzy furry shiny glossy striped spotted "
        "wrinkled wet dry fluffy hairy bumpy silky sticky muddy dusty",
        ADJ,
    ),
    # Shapes.
    _labels(
        "round circular rectangular triangular oval curved flat straight "
        "pointed long short narrow wide thin thick",
        ADJ,
    ),
    _labels("square", ADJ_OR_NOUN),
    # Materials.
    _labels("wooden metallic woolen", ADJ),
    _labels("glass leather stone brick paper cotton steel wool rubber", NOUN),
    _labels("metal plastic concrete ceramic", ADJ_OR_NOUN),
    # Sizes.
    _labels("big small large tiny huge little tall enormous massive", ADJ),
    _labels("giant", ADJ_OR_NOUN),
    # Other visual adjectives.
    _labels(
        "old young new empty full broken clean dirty beautiful cute ugly "
        "happy sad sunny cloudy snowy rainy crowded busy modern ancient "
        "wild hot cold warm",
        ADJ,
    ),
    # Animals.
    _labels(
        "dog cat horse bird cow sheep elephant zebra giraffe bear lion "
        "tiger monkey rabbit mouse duck fish snake frog deer eagle owl "
        "parrot sparrow penguin butterfly bee spider turtle whale dolphin "
        "pig goat chicken wolf fox squirrel camel",
        NOUN,
    ),
    # Objects and food.
    _labels(
        "car bus truck bicycle motorcycle train airplane boat chair table "
        "bed sofa couch lamp clock bottle cup bowl plate knife fork spoon "
        "phone laptop computer keyboard television book umbrella bag "
        "backpack hat shirt shoe jacket ball kite pizza sandwich banana "
        "apple cake vase window door bench sign toilet sink oven "
        "refrigerator mirror pillow towel basket box bucket candle guitar",
        NOUN,
    ),
    # People.
    _labels("man woman child boy girl person player baby", NOUN),
    # Scenes.
    _labels(
        "beach kitchen street road forest mountain river lake ocean field "
        "park city room bathroom bedroom garden desert island sky cloud "
        "snow grass tree flower bridge building house tower church airport "
        "station market farm highway sidewalk valley hill waterfall castle",
        NOUN,
    ),
    # Body parts.
    _labels(
        "head face eye nose mouth ear hand arm leg foot finger hair tail "
        "wing beak feather neck shoulder knee tooth lip skin fur paw claw "
        "chest",
        NOUN,
    ),
    # Verbs.
    _labels(
        "run eat sit stand walk jump swim throw catch hold carry ride drive "
        "play see go take make give think know say become seem write read "
        "sleep cook wash push pull climb kick bring put get went eaten "
        "sitting",
        REJECT,
    ),
    # Adverbs and numbers.
    _labels(
        "quickly slowly really always never often already one two three",
        REJECT,
    ),
    # Function words (determiners, prepositions, pronouns, auxiliaries,
    # conjunctions, quantifiers).
    _labels(
        "the a an of in on at with without and or but if because is are "
        "was were be been have has had do does not very this that these "
        "those it he she they we you his her their my your which who what "
        "where when how from to by for about into over under between "
        "through some any every each all many much more most also too "
        "there here then than just only can could will would should must "
        "may might few several other",
        REJECT,
    ),
)

# A second list, written after the filter's first design and labelled before
# the filter was run on it: it measures how well the rule generalises.
HELD_OUT_WORDS = _merge(
    # Colours, textures, shapes, sizes, other visual adjectives.
    _labels(
        "crimson scarlet turquoise beige blond transparent opaque grainy "
        "velvety scaly spiky slippery rusty polished wrinkly frozen foggy "
        "misty shallow deep steep hollow solid fragile sharp blunt heavy "
        "bald curly wavy shaggy skinny chubby slim elderly adorable elegant "
        "fancy rustic tropical rural urban outdoor indoor vertical "
        "horizontal diagonal symmetric hexagonal cylindrical jagged crooked "
        "tangled gigantic petite vast compact slender broad",
        ADJ,
    ),
    _labels("violet fat plain vintage spiral light", ADJ_OR_NOUN),
    # Animals.
    _labels(
        "kitten puppy pony donkey hamster crocodile lizard hawk pigeon swan "
        "goose crab lobster shark octopus ant beetle moth bat seal",
        NOUN,
    ),
    # Objects and food.
    _labels(
        "scissors hammer ladder helmet glove sock boot scarf necklace ring "
        "wallet lantern kettle teapot mug jar tray carpet curtain blanket "
        "drawer shelf cabinet fence gate roof chimney staircase balcony "
        "tent sail anchor wheel engine tractor helicopter rocket drum piano "
        "violin camera microscope statue painting fountain carrot tomato "
        "potato onion cheese bread cookie sausage noodle soup salad grape "
        "lemon strawberry cherry egg",
        NOUN,
    ),
    # Scenes.
    _labels(
        "meadow canyon glacier volcano swamp harbor pier cliff cave jungle "
        "prairie lagoon alley plaza stadium library classroom hospital "
        "restaurant subway tunnel barn cottage palace",
        NOUN,
    ),
    # Body parts.
    _labels(
        "elbow wrist ankle thumb toe cheek chin forehead eyebrow eyelash "
        "belly hip fist horn antler whisker fin mane hoof",
        NOUN,
    ),
    # Verbs.
    _labels(
        "arrive borrow breathe choose dance decide enjoy explain follow "
        "forget grow happen hurry imagine laugh listen lose marry obey pay "
        "pretend promise receive remember repeat shout sing speak spend "
        "steal teach tell travel try understand wait wander whisper win "
        "wonder worry belong contain prefer admire deny destroy exist "
        "ignore invite apologize persuade",
        REJECT,
    ),
    # Function words, adverbs and numbers.
    _labels(
        "although unless whether whose whom whereas neither either nor "
        "since until upon within beneath beside towards among despite "
        "during except per via itself myself ourselves yourself themselves "
        "anybody somebody nobody nothing everything somewhat rather quite "
        "almost perhaps maybe soon yet still ever hence thus therefore "
        "however otherwise seldom rarely twice four five hundred thousand "
        "shall ought am being did doing",
        REJECT,
    ),
)
