from django.urls import path

from api.docs_views import example_page, postman_page

urlpatterns = [
    path("docs/examples/<str:language>", example_page, name="docs-example"),
    path("docs/postman", postman_page, name="docs-postman"),
]
