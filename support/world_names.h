/*
 * world_names.h - the words the synthetic taxonomy names its tags with: 18 level-1 topics with
 * 12 subtopics each (the paper's 18 / 216 split), then generic qualifiers for the deeper levels.
 * Only world.c includes this file.
 */
#ifndef MVKE_SUPPORT_WORLD_NAMES_H
#define MVKE_SUPPORT_WORLD_NAMES_H

#define WORLD_NTOPIC_NAMES 18
#define WORLD_NSUB_NAMES 12

static const char *const world_topic_names[WORLD_NTOPIC_NAMES] = {
    "Real estate", "Automobiles", "Travel", "Education", "Finance", "Games",
    "Sports", "Health", "Food", "Fashion", "Beauty", "Parenting",
    "Music", "Movies", "Technology", "Home", "Pets", "Books",
};

static const char *const world_sub_names[WORLD_NTOPIC_NAMES][WORLD_NSUB_NAMES] = {
    {"house lease", "new homes", "second-hand homes", "office space", "shops", "mortgages",
     "land plots", "student housing", "holiday rentals", "property tax", "home insurance",
     "estate agents"},
    {"new cars", "used cars", "electric cars", "SUVs", "motorcycles", "car loans",
     "car insurance", "car repair", "car rental", "tyres", "car audio", "driving schools"},
    {"flights", "hotels", "cruises", "city breaks", "beach holidays", "camping", "visas",
     "travel insurance", "rail travel", "backpacking", "theme parks", "ski trips"},
    {"primary school", "high school", "university", "language courses", "test prep",
     "online courses", "vocational training", "tutoring", "study abroad", "MBA",
     "coding bootcamps", "early learning"},
    {"savings", "credit cards", "personal loans", "stocks", "funds", "pensions", "insurance",
     "crypto", "tax filing", "banking apps", "gold", "budgeting"},
    {"mobile games", "console games", "PC games", "strategy games", "puzzle games",
     "role-playing games", "sports games", "card games", "esports", "game consoles", "VR games",
     "board games"},
    {"football", "basketball", "running", "swimming", "cycling", "tennis", "badminton", "yoga",
     "fitness", "martial arts", "golf", "skiing"},
    {"clinics", "dental care", "eye care", "supplements", "mental health", "weight loss",
     "pharmacy", "health insurance", "physiotherapy", "sleep", "hearing", "elderly care"},
    {"restaurants", "food delivery", "coffee", "tea", "snacks", "baking", "cooking", "wine",
     "beer", "fresh produce", "seafood", "vegetarian"},
    {"women's clothing", "men's clothing", "shoes", "bags", "watches", "jewellery",
     "sportswear", "children's clothing", "luxury brands", "eyewear", "underwear",
     "outdoor wear"},
    {"skin care", "make-up", "perfume", "hair care", "nail care", "beauty salons",
     "men's grooming", "cosmetic surgery", "spa", "body care", "sun care", "beauty tools"},
    {"pregnancy", "baby food", "diapers", "strollers", "toys", "kindergarten", "child safety",
     "family outings", "baby clothing", "child health", "parenting advice", "nannies"},
    {"pop", "rock", "classical", "jazz", "hip hop", "concerts", "musical instruments",
     "music lessons", "karaoke", "music streaming", "headphones", "vinyl"},
    {"cinema", "action films", "comedies", "dramas", "animation", "documentaries",
     "TV series", "video streaming", "film festivals", "horror", "science fiction",
     "celebrity news"},
    {"smartphones", "laptops", "tablets", "smart home", "cameras", "wearables", "software",
     "cloud services", "gaming PCs", "networking", "drones", "printers"},
    {"furniture", "interior design", "home appliances", "kitchenware", "bedding", "gardening",
     "cleaning", "DIY tools", "lighting", "home security", "renovation", "storage"},
    {"dogs", "cats", "pet food", "pet insurance", "veterinarians", "aquariums", "birds",
     "pet grooming", "pet toys", "pet training", "small pets", "reptiles"},
    {"fiction", "non-fiction", "comics", "e-books", "audiobooks", "children's books",
     "textbooks", "poetry", "biographies", "self-help", "history books", "science books"},
};

#define WORLD_NQUALIFIERS 20
static const char *const world_qualifiers[WORLD_NQUALIFIERS] = {
    "villa", "premium", "budget", "family", "beginner", "local", "online", "luxury", "seasonal",
    "professional", "eco-friendly", "compact", "imported", "student", "senior", "weekend",
    "express", "subscription", "custom", "vintage",
};

#define WORLD_NDETAILS 12
static const char *const world_details[WORLD_NDETAILS] = {
    "deals", "reviews", "brands", "guides", "prices", "stores", "events", "rentals",
    "accessories", "repairs", "comparisons", "bundles",
};

#endif
