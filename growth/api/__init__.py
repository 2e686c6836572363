"""Growth's public REST API, under /api/v1/: the foundation every resource is built on.

What is here:

- `keys`: API keys (create: the plain key is returned once; revoke; check). The model is
  growth.models.ApiKey; admins manage keys at /settings/api-keys/ (growth.views_api_keys).
- `authentication`: `Authorization: Bearer <key>`; the key's creator becomes request.user.
  Browsers may use their session instead (DRF's SessionAuthentication, CSRF enforced).
- `scopes`: the resources a key can be given, each `read` or `write` (write includes read).
- `permissions`: `Access(scope, read=[capabilities], write=[capabilities])`. A key needs
  the scope at the method's level (GET/HEAD/OPTIONS read, the rest write); a person needs
  one of the capabilities. A missing one is a 403 that names it.
- `throttling`: per key (its own per-minute figure) and per user, in Redis: 429 + Retry-After.
- `errors`: every error is `{"error": {"code", "message", "fields"?}}`; database down → 503.
- `pagination`: cursor pages (`next` / `previous` / `results`, `page_size` ≤ 200).
- `filters`: list filters as a serializer (validated, documented, unknown names refused);
  `Strict` request bodies that refuse fields they do not know.
- `schema`: the OpenAPI document at /api/schema/ (public), Swagger UI at /api/docs/.

All of it is the default for DRF views (settings.REST_FRAMEWORK), so a view only says what
is particular to it.

How to add a resource (say, segments, in leads/api.py or the app's own api module):

1. Add the scope: one line in `scopes.RESOURCES`, `"segments": gettext_lazy("Segments")`.
   The API key form shows it at once.
2. Declare who may call it, once, next to the views:

       SEGMENTS = Access("segments", read=[C.VIEW_CONTACTS], write=[C.MANAGE_SEGMENTS])

3. Write the views on the bases of `growth.api.views` and say what the caller may see in
   `visible()` (object-level authorisation: anything outside it is a 404):

       class SegmentFilters(Filters):
           kind = serializers.ChoiceField(choices=Segment.Kind.choices, required=False)

       class SegmentList(ListView):
           access = SEGMENTS
           serializer_class = SegmentOut
           filters = SegmentFilters
           ordering = ("-id",)                      # a stable key for the cursor

           lookups = {"kind": "kind"}               # ORM lookup -> filter, when given

           def visible(self):
               return Segment.objects.all()         # narrow it by self.caller for roles

           # or override filtered(self, queryset, filters) for more than plain lookups

       class SegmentDetail(DetailView):             # GET /segments/<pk>/
           access = SEGMENTS
           serializer_class = SegmentOut
           def visible(self): ...

   Writes are `ApiView` (or `ResourceView` for object writes: `self.get_object()` reads
   through `visible()`) with a `Strict` input serializer; they call the app's services,
   never the ORM directly, and `growth.audit.record` for what an admin must account for.
   `self.caller` says who calls: `.key` (an ApiKey, acting by its scopes only) or a person
   (`.user`, `.can(capability)`).
4. Route them in the module's `urlpatterns` (growth/urls.py includes it under /api/v1/).
5. Test them in tests/api/: each endpoint, each role, own / foreign object in the BOLA
   matrix (tests/api/test_bola.py), the list's query count against the page size, and the
   schemathesis run covers it by itself. `manage.py spectacular --validate --fail-on-warn`
   must stay clean (tests/api/test_schema.py): give views without a serializer_class an
   `@extend_schema(request=..., responses=...)`.
"""
