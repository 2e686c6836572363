"""The demo shop's products and the kinds of visitors it gets."""

from __future__ import annotations

from decimal import Decimal

PRODUCTS = [
    # (id, name, category, price)
    ("p-100", "Merino Crew Sweater", "Knitwear", "89.00"),
    ("p-101", "Cashmere Beanie", "Knitwear", "45.00"),
    ("p-102", "Wool Scarf", "Knitwear", "39.00"),
    ("p-200", "Trail Running Shoe", "Footwear", "129.00"),
    ("p-201", "Everyday Sneaker", "Footwear", "95.00"),
    ("p-202", "Leather Chelsea Boot", "Footwear", "189.00"),
    ("p-300", "Organic Cotton Tee", "Basics", "25.00"),
    ("p-301", "Relaxed Chino", "Basics", "69.00"),
    ("p-302", "Linen Shirt", "Basics", "59.00"),
    ("p-400", "Rain Shell Jacket", "Outerwear", "159.00"),
    ("p-401", "Down Parka", "Outerwear", "279.00"),
    ("p-402", "Quilted Vest", "Outerwear", "99.00"),
    ("p-500", "Canvas Weekender", "Bags", "119.00"),
    ("p-501", "Everyday Backpack", "Bags", "85.00"),
    ("p-600", "Wool Socks 3-pack", "Accessories", "24.00"),
    ("p-601", "Leather Belt", "Accessories", "49.00"),
]

# (utm_source, utm_medium, referrer, weight, conversion lift)
CHANNELS = [
    ("google", "cpc", "https://www.google.com/", 25, 1.1),
    ("facebook", "paid-social", "https://www.facebook.com/", 20, 0.8),
    ("newsletter", "email", "", 10, 1.6),
    ("", "", "https://www.google.com/search", 20, 1.0),
    ("", "", "https://www.styleblog.example/best-sweaters", 10, 1.2),
    ("", "", "", 15, 0.9),
]
CAMPAIGNS = {
    "google": ["winter-sale", "brand"],
    "facebook": ["lookalike-q4", "retargeting"],
    "newsletter": ["weekly-drop"],
}

# (country, IANA time zone, currency, locale, weight)
COUNTRIES = [
    ("US", "America/New_York", "USD", "en-US", 30),
    ("US", "America/Los_Angeles", "USD", "en-US", 15),
    ("GB", "Europe/London", "GBP", "en-GB", 15),
    ("DE", "Europe/Berlin", "EUR", "de-DE", 12),
    ("CN", "Asia/Shanghai", "CNY", "zh-CN", 12),
    ("AU", "Australia/Sydney", "AUD", "en-AU", 8),
    ("BR", "America/Sao_Paulo", "BRL", "pt-BR", 8),
]
RATES = {
    "USD": Decimal("1"),
    "GBP": Decimal("1.27"),
    "EUR": Decimal("1.08"),
    "CNY": Decimal("0.14"),
    "AUD": Decimal("0.66"),
    "BRL": Decimal("0.2"),
}

FIRST_NAMES = [
    "Ana",
    "Ben",
    "Chloé",
    "Dev",
    "Emma",
    "Felix",
    "Grace",
    "Hiro",
    "Ines",
    "Jack",
    "Kai",
    "Lena",
    "Mateo",
    "Nora",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sam",
    "Tomás",
    "Uma",
    "Wei",
    "Xin",
    "Yara",
    "Zoe",
    "Li",
    "Mei",
    "Jonas",
    "Aisha",
    "Lucas",
]
LAST_NAMES = [
    "Smith",
    "García",
    "Müller",
    "Chen",
    "Wang",
    "Silva",
    "Brown",
    "Nguyen",
    "Kim",
    "Rossi",
    "Novak",
    "Okafor",
    "Patel",
    "Cohen",
    "Dubois",
    "Larsen",
    "Tanaka",
    "Costa",
    "Walsh",
    "Zhang",
]
