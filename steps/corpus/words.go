package corpus

// The vocabularies of the generated records. Some values are not ASCII
// (Zürich, São Paulo, Chloé, Łukasz, 東京) so that the pipeline's
// tokenizers and models meet multi-byte UTF-8; some have spaces, which the
// prompt's separators keep unambiguous.

var firstNames = []string{
	"Alice", "Bob", "Chloé", "Dmitri", "Emma", "Fatima", "Gustav", "Hana", "Igor", "José",
	"Keiko", "Liam", "Mária", "Noah", "Olga", "Priya", "Quentin", "Renée", "Søren", "Tomás",
	"Uma", "Victor", "Wei", "Xavier", "Yara", "Zoë", "Łukasz", "Björn", "Ngozi", "Aiko",
}

// cities pairs each city with its ISO country code.
var cities = []struct{ name, country string }{
	{"Lyon", "FR"}, {"Zürich", "CH"}, {"São Paulo", "BR"}, {"Kraków", "PL"}, {"Reykjavík", "IS"},
	{"Málaga", "ES"}, {"東京", "JP"}, {"Oslo", "NO"}, {"Montréal", "CA"}, {"Köln", "DE"},
	{"Nairobi", "KE"}, {"Lima", "PE"}, {"Porto", "PT"}, {"Genève", "CH"}, {"Buenos Aires", "AR"},
	{"Hanoi", "VN"}, {"Cork", "IE"}, {"Tallinn", "EE"}, {"Austin", "US"}, {"Ålesund", "NO"},
}

var userTags = []string{"admin", "beta", "ops", "vip", "staff", "trial", "dev", "support"}

var streets = []string{
	"Rue Centrale", "Bahnhofstrasse", "Rua Augusta", "Main Street", "Calle Mayor", "Ulica Długa",
	"Via Roma", "Storgata", "Avenida Paulista", "High Street", "Königsallee", "Rue du Marché",
}

var skus = []string{"widget", "gadget", "bolt", "cable", "lamp", "mug", "notebook", "sensor", "crème", "filter"}

var orderStatuses = []string{"pending", "paid", "shipped", "delivered", "cancelled"}

var eventAdjectives = []string{"Jazz", "Data", "Spring", "Night", "Café", "Open", "Winter", "Robotics", "Poetry", "Street"}

var eventNouns = []string{"Night", "Meetup", "Fair", "Market", "Talk", "Workshop", "Festival", "Summit", "Jam", "Walk"}

var venues = []string{"Blue Note", "Town Hall", "Le Petit Café", "Kulturhaus", "Harbour Hall", "Casa Azul", "Old Mill", "Library Annex"}

var roles = []string{"speaker", "guest", "host", "volunteer", "sponsor"}

var productAdjectives = []string{"Desk", "Travel", "Smart", "Garden", "Kitchen", "Crystal", "Pocket", "Café"}

var productNouns = []string{"Lamp", "Bottle", "Speaker", "Chair", "Kettle", "Clock", "Backpack", "Grinder"}

var productTags = []string{"home", "light", "outdoor", "gift", "eco", "sale", "new", "office"}

var units = []string{"cm", "mm", "in"}
