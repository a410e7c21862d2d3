package corpus

import (
	"fmt"
	"strconv"
	"strings"
)

// userRecord: flat, with a list of strings (the spec's example).
//
//	Record user 417: name Alice, age 31, city Lyon, tags admin beta
//	{"id":417,"name":"Alice","age":31,"city":"Lyon","tags":["admin","beta"]}
func userRecord(g *generator, id int) record {
	tags := distinct(g.r, userTags, g.r.between(0, 3))
	tagText := strings.Join(tags, " ")
	if len(tags) == 0 {
		tagText = "none"
	}
	return record{schema: "user", id: id, sep: ", ", fields: []field{
		str("name", pick(g.r, firstNames)),
		num("age", g.r.between(18, 90)),
		str("city", pick(g.r, cities).name),
		{"tags", jsonStrings(tags), "tags " + tagText},
	}}
}

// orderRecord: a list of item objects, a nested address, a boolean.
//
//	Record order 5521: customer Zoë; items 2 x bolt at 0.35, 1 x lamp at 24.00;
//	address street 12 Rua Augusta, city Porto, country PT; status paid; gift no
//	{"id":5521,"customer":"Zoë","items":[{"sku":"bolt","qty":2,"price":0.35},
//	{"sku":"lamp","qty":1,"price":24.00}],"address":{"street":"12 Rua Augusta",
//	"city":"Porto","country":"PT"},"status":"paid","gift":false}
func orderRecord(g *generator, id int) record {
	items := distinct(g.r, skus, g.r.between(1, 3))
	itemJSON, itemText := make([]string, len(items)), make([]string, len(items))
	for i, sku := range items {
		qty, price := g.r.between(1, 9), decimal("price", g.r.between(5, 9999))
		itemJSON[i] = fmt.Sprintf(`{"sku":%s,"qty":%d,"price":%s}`, jsonString(sku), qty, price.json)
		itemText[i] = fmt.Sprintf("%d x %s at %s", qty, sku, price.json)
	}
	city := pick(g.r, cities)
	addrJSON, addrText := g.object([]field{
		str("street", strconv.Itoa(g.r.between(1, 250))+" "+pick(g.r, streets)),
		str("city", city.name),
		str("country", city.country),
	}, ", ")
	return record{schema: "order", id: id, sep: "; ", fields: []field{
		str("customer", pick(g.r, firstNames)),
		{"items", "[" + strings.Join(itemJSON, ",") + "]", "items " + strings.Join(itemText, ", ")},
		{"address", addrJSON, "address " + addrText},
		str("status", pick(g.r, orderStatuses)),
		boolean("gift", "gift", g.r.intn(4) == 0),
	}}
}

// eventRecord: a nested location and a list of objects.
//
//	Record event 88: title Jazz Night; date 2024-05-17; location venue Blue Note,
//	city Zürich, country CH; attendees Alice as speaker, Bob as guest; capacity 120
//	{"id":88,"title":"Jazz Night","date":"2024-05-17","location":{"venue":"Blue Note",
//	"city":"Zürich","country":"CH"},"attendees":[{"name":"Alice","role":"speaker"},
//	{"name":"Bob","role":"guest"}],"capacity":120}
func eventRecord(g *generator, id int) record {
	title := pick(g.r, eventAdjectives) + " " + pick(g.r, eventNouns)
	date := fmt.Sprintf("%d-%02d-%02d", g.r.between(2020, 2030), g.r.between(1, 12), g.r.between(1, 28))
	city := pick(g.r, cities)
	locJSON, locText := g.object([]field{
		str("venue", pick(g.r, venues)),
		str("city", city.name),
		str("country", city.country),
	}, ", ")
	people := distinct(g.r, firstNames, g.r.between(1, 3))
	attJSON, attText := make([]string, len(people)), make([]string, len(people))
	for i, name := range people {
		role := pick(g.r, roles)
		attJSON[i] = fmt.Sprintf(`{"name":%s,"role":%s}`, jsonString(name), jsonString(role))
		attText[i] = name + " as " + role
	}
	return record{schema: "event", id: id, sep: "; ", fields: []field{
		str("title", title),
		str("date", date),
		{"location", locJSON, "location " + locText},
		{"attendees", "[" + strings.Join(attJSON, ",") + "]", "attendees " + strings.Join(attText, ", ")},
		num("capacity", 10*g.r.between(1, 50)),
	}}
}

// productRecord: decimals, a boolean, null, a nested object stated as a
// phrase, and a list of strings.
//
//	Record product 12: name Desk Lamp; price 19.99; in stock yes; rating none;
//	dimensions 30 x 20 x 15 cm; tags home light
//	{"id":12,"name":"Desk Lamp","price":19.99,"in_stock":true,"rating":null,
//	"dimensions":{"width":30,"height":20,"depth":15,"unit":"cm"},"tags":["home","light"]}
func productRecord(g *generator, id int) record {
	rating := field{"rating", "null", "rating none"}
	if g.r.intn(3) > 0 {
		r := g.r.between(10, 50)
		rating = field{"rating", fmt.Sprintf("%d.%d", r/10, r%10), fmt.Sprintf("rating %d.%d", r/10, r%10)}
	}
	w, h, d, unit := g.r.between(1, 200), g.r.between(1, 200), g.r.between(1, 200), pick(g.r, units)
	dims := fmt.Sprintf(`{"width":%d,"height":%d,"depth":%d,"unit":%s}`, w, h, d, jsonString(unit))
	tags := distinct(g.r, productTags, g.r.between(1, 3))
	return record{schema: "product", id: id, sep: "; ", fields: []field{
		str("name", pick(g.r, productAdjectives)+" "+pick(g.r, productNouns)),
		decimal("price", g.r.between(99, 99999)),
		boolean("in_stock", "in stock", g.r.intn(5) > 0),
		rating,
		{"dimensions", dims, fmt.Sprintf("dimensions %d x %d x %d %s", w, h, d, unit)},
		{"tags", jsonStrings(tags), "tags " + strings.Join(tags, " ")},
	}}
}
