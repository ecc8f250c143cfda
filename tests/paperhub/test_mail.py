import email

from django.core.mail import EmailMultiAlternatives

from paperhub.mail import EmlFileBackend


def test_eml_backend_writes_one_parseable_file_per_message(tmp_path):
    backend = EmlFileBackend(file_path=str(tmp_path))
    message = EmailMultiAlternatives("Hello", "plain body", "from@example.com", ["to@example.com"])
    message.attach_alternative("<p>html body</p>", "text/html")
    assert backend.send_messages([message, message]) == 2
    files = sorted(tmp_path.glob("*.eml"))
    assert len(files) == 2
    parsed = email.message_from_bytes(files[0].read_bytes())
    assert parsed["Subject"] == "Hello"
    assert {part.get_content_type() for part in parsed.walk()} >= {"text/plain", "text/html"}
