"""The fixed texts of the resident's page in the summary languages (en, tr, ar).

The Dutch page is binding; these summaries say what the page is and how to get help, one tap
away. A project may add its own translated summary in the corporation file
(``web.projects.<code>.translations``); it is shown above these texts. Arabic is written right to
left: the page marks each summary with its ``lang`` and ``dir``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Summary:
    lang: str
    dir: str
    name: str  # the language's own name, on the button
    heading: str
    body: tuple[str, ...]
    no_rights: str


SUMMARIES = (
    Summary(
        "en",
        "ltr",
        "English",
        "Summary in English",
        (
            "This is your own page about the work on your home.",
            "It shows what will happen, when, and who you can call.",
            "You can also read the letters we sent you.",
            "Questions? Call your resident guide. The phone number is on this page.",
        ),
        "This translation is for your information. Only the Dutch text counts.",
    ),
    Summary(
        "tr",
        "ltr",
        "Türkçe",
        "Türkçe özet",
        (
            "Bu, evinizdeki çalışmalar hakkındaki kişisel sayfanızdır.",
            "Ne yapılacağını, ne zaman yapılacağını ve kimi arayabileceğinizi gösterir.",
            "Size gönderdiğimiz mektupları da burada okuyabilirsiniz.",
            "Sorularınız mı var? Bewonersbegeleider'ı arayın. Telefon numarası bu sayfada.",
        ),
        "Bu çeviri bilgi amaçlıdır. Yalnızca Hollandaca metin geçerlidir.",
    ),
    Summary(
        "ar",
        "rtl",
        "العربية",
        "ملخص باللغة العربية",
        (
            "هذه صفحتك الخاصة عن الأعمال في بيتك.",
            "تبيّن الصفحة ما سيحدث ومتى، ومن يمكنك الاتصال به.",
            "يمكنك أيضًا قراءة الرسائل التي أرسلناها إليك.",
            "هل لديك أسئلة؟ اتصل بمرشد السكان. رقم الهاتف موجود في هذه الصفحة.",
        ),
        "هذه الترجمة للعلم فقط. النص الهولندي هو المعتمد.",
    ),
)
