"""`manage.py renderer_check [--engine NAME] [--outfit]`: render the bundled sample pair and print where the
time went.

The operator's smoke test with a real provider key: it runs the engine's whole protocol (submit, poll,
download through the outbound guard) outside the pipeline — no organization, no credits, nothing stored
but the `--output` file — and exits non-zero, with the provider's own message, if the render fails. For a
hosted engine it also prints the model's licence and what the provider keeps of a render (the registry's),
and the inputs as the pipeline prepares them (tryons.engines.inputs); `--outfit` puts the sample top and
bottoms on in one render, on a model the registry declares able to (Kling Kolors).
"""

import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tryons.controls import OUTPUT_FORMAT, control_support
from tryons.engines import engine_client, engine_settings
from tryons.engines.base import EngineInputs, EngineThrottled, EngineUnavailable
from tryons.engines.inputs import input_prepare, outfit_image
from tryons.qualities import QUALITIES
from tryons.renderers import RenderError, RenderRequest, get_renderer
from tryons.renderers.registry import RENDERERS, UNDECLARED_MODEL, engine_model

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


class Command(BaseCommand):
    help = "Render the bundled sample person/garment pair through a renderer and print its timings."

    def add_arguments(self, parser):
        parser.add_argument(
            "--engine", choices=tuple(RENDERERS), help="Renderer to check (default: TRYON_RENDERER)."
        )
        # The first declared quality, the cheapest: a smoke test need not pay for more.
        parser.add_argument("--quality", choices=tuple(QUALITIES), default=next(iter(QUALITIES)))
        parser.add_argument("--category", default="tops")
        parser.add_argument("--output", default="renderer-check.jpg", help="Where to write the result image.")
        parser.add_argument(
            "--outfit", action="store_true", help="Render the sample top and bottoms together in one call."
        )

    def handle(self, *args, engine, quality, category, output, outfit, **options):
        name = engine or settings.TRYON_RENDERER
        kind = RENDERERS[name]
        person = (SAMPLES / "person.jpg").read_bytes()
        garment = (SAMPLES / "garment.png").read_bytes()
        started = time.monotonic()
        if outfit and not kind.engine:
            raise CommandError(f"{name} renders one garment a render; --outfit needs a hosted engine.")
        if kind.engine:
            garments = (garment, (SAMPLES / "bottoms.png").read_bytes()) if outfit else (garment,)
            image = self._hosted(name, person, garments, quality, category)
        elif kind.callback:
            raise CommandError(f"{name} answers by callback; check it with a real cart instead.")
        else:
            request = RenderRequest(
                tryon_id="tryon_check", organization_id="org_check", category=category, quality=quality,
                background_scene="", person_image=person, person_photo_key="", garment_image=garment,
                garment_url="", job_id="tryon_check.1",
            )  # fmt: skip
            try:
                image = get_renderer(name).render(request).image
            except RenderError as exc:
                raise CommandError(f"{name}: {exc}") from None
            self.stdout.write(f"render      {_ms(time.monotonic() - started)}")
        Path(output).write_bytes(image)
        self.stdout.write(f"total       {_ms(time.monotonic() - started)}")
        self.stdout.write(self.style.SUCCESS(f"{name}: rendered {len(image):,} bytes into {output}"))

    def _hosted(self, name: str, person: bytes, garments: tuple, quality: str, category: str) -> bytes:
        from tryons.services.engine_io import data_uri, engine_result_fetch

        s = engine_settings()
        kind = RENDERERS[name]
        client = engine_client(name)
        self.stdout.write(f"engine      {name} ({client.model})")
        declared = engine_model(kind, client.model)
        model = declared or UNDECLARED_MODEL
        self.stdout.write(f"licence     {declared.licence if declared else 'not declared: check its terms'}")
        self.stdout.write(f"retention   {kind.retention.format(**vars(s))}")
        support = control_support(model.honours)
        formats = ", ".join(f"{f} {how}" for f, how in support.pop(OUTPUT_FORMAT).items())
        self.stdout.write(
            "controls    "
            + ", ".join(f"{control} {how}" for control, how in support.items())
            + f"; {formats}"
        )
        if len(garments) > model.garments_per_render:
            raise CommandError(
                f"{name}: {client.model} renders one garment a render; --outfit needs a model the registry "
                "declares able to take a top and a bottom together"
            )
        garment = (
            outfit_image(*garments, working_size=model.working_size) if len(garments) > 1 else garments[0]
        )
        # As the pipeline sends them (tryons.services.engine_io), inline: nothing is stored for a check.
        sent = {
            role: input_prepare(data, working_size=model.working_size, max_bytes=kind.inline_max_bytes)
            for role, data in (("person", person), ("garment", garment))
        }
        self.stdout.write(
            "inputs      "
            + ", ".join(
                f"{role} {i.width}x{i.height} {len(i.data) / 1024:,.0f} KiB" for role, i in sent.items()
            )
        )
        inputs = EngineInputs(
            person=data_uri(sent["person"].data), garment=data_uri(sent["garment"].data), category=category,
            quality=quality, job_id="tryon_check.1",
        )  # fmt: skip
        t0 = time.monotonic()
        try:
            submission = client.submit(inputs)
        except RenderError as exc:
            raise CommandError(f"{name}: submit failed: {exc}") from None
        submitted = time.monotonic()
        self.stdout.write(f"submit      {_ms(submitted - t0)}  (job {submission.provider_job_id})")
        running_at = None
        try:
            while True:
                if time.monotonic() - t0 > s.render_timeout:
                    client.cancel(submission.provider_job_id, submission.urls)
                    raise CommandError(
                        f"{name}: no result within TRYON_RENDER_TIMEOUT_SECONDS ({s.render_timeout})"
                    )
                time.sleep(s.poll_seconds)
                try:
                    status = client.status(submission.provider_job_id, submission.urls)
                except (EngineThrottled, EngineUnavailable) as exc:
                    self.stdout.write(f"poll        {exc} (retrying)")
                    continue
                if status.state == "running" and running_at is None:
                    running_at = time.monotonic()
                if status.state == "failed":
                    raise CommandError(f"{name}: the render failed: {status.error or status.raw}")
                if status.state == "succeeded":
                    break
            finished = time.monotonic()
            self.stdout.write(f"queued      {_ms((running_at or finished) - submitted)}")
            provider = f"  (provider: {status.render_ms:,} ms)" if status.render_ms else ""
            self.stdout.write(f"rendering   {_ms(finished - (running_at or finished))}{provider}")
            try:
                image = engine_result_fetch(status.output).image
            except RenderError as exc:
                raise CommandError(f"{name}: result download failed: {exc}") from None
            self.stdout.write(f"download    {_ms(time.monotonic() - finished)}")
            return image
        finally:
            try:
                client.cleanup(submission.provider_job_id, submission.urls)
            except RenderError as exc:
                self.stdout.write(f"cleanup     {exc}")
