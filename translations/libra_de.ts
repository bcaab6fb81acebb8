<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="de">
<context>
    <name>AddContactDialog</name>
    <message>
        <source>Add a contact</source>
        <translation>Kontakt hinzufügen</translation>
    </message>
    <message>
        <source>Ask the person for their alias: three words (like amber-falcon-canyon), an invite link, or their QR code. You find it in Libra under “My alias”.</source>
        <translation>Frag die Person nach ihrem Alias: drei Wörter (wie amber-falcon-canyon), ein Einladungslink oder ihr QR-Code. Sie findet ihn in Libra unter „Mein Alias“.</translation>
    </message>
    <message>
        <source>Or read their QR code</source>
        <translation>Oder lies ihren QR-Code</translation>
    </message>
    <message>
        <source>From a picture…</source>
        <translation>Aus einem Bild…</translation>
    </message>
    <message>
        <source>A photo or screenshot of their QR code (PNG, JPEG, WebP, GIF or BMP)</source>
        <translation>Ein Foto oder Bildschirmfoto ihres QR-Codes (PNG, JPEG, WebP, GIF oder BMP)</translation>
    </message>
    <message>
        <source>Paste</source>
        <translation>Einfügen</translation>
    </message>
    <message>
        <source>Paste an invite link, three words, or a copied picture of a QR code</source>
        <translation>Füge einen Einladungslink, drei Wörter oder ein kopiertes Bild eines QR-Codes ein</translation>
    </message>
    <message>
        <source>Use the camera…</source>
        <translation>Kamera verwenden…</translation>
    </message>
    <message>
        <source>Find</source>
        <translation>Suchen</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <source>Stop searching</source>
        <translation>Suche beenden</translation>
    </message>
    <message>
        <source>Is this the person you are looking for?</source>
        <translation>Ist das die Person, die du suchst?</translation>
    </message>
    <message>
        <source>A note, so they know who is asking (optional)</source>
        <translation>Eine Notiz, damit sie weiß, wer fragt (optional)</translation>
    </message>
    <message>
        <source>Back</source>
        <translation>Zurück</translation>
    </message>
    <message>
        <source>Send request</source>
        <translation>Anfrage senden</translation>
    </message>
    <message>
        <source>Open chat</source>
        <translation>Chat öffnen</translation>
    </message>
    <message>
        <source>Libra first solves a small puzzle: it protects everyone from floods of requests. This takes a few seconds.</source>
        <translation>Libra löst zuerst ein kleines Rätsel: Das schützt alle vor Fluten von Anfragen. Das dauert ein paar Sekunden.</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>Schließen</translation>
    </message>
    <message>
        <source>Write a message</source>
        <translation>Nachricht schreiben</translation>
    </message>
    <message>
        <source>Type the three words, separated by spaces or hyphens.</source>
        <translation>Gib die drei Wörter ein, getrennt durch Leerzeichen oder Bindestriche.</translation>
    </message>
    <message>
        <source>Invite link for %1. Libra will check that it is really them.</source>
        <translation>Einladungslink für %1. Libra prüft, dass es wirklich diese Person ist.</translation>
    </message>
    <message>
        <source>Looks right: %1</source>
        <translation>Sieht richtig aus: %1</translation>
    </message>
    <message>
        <source>Which one do you mean?</source>
        <translation>Welches meinst du?</translation>
    </message>
    <message>
        <source>Word %1 is not in Libra&apos;s word list. Did you mean:</source>
        <translation>Wort %1 steht nicht in Libras Wortliste. Meintest du:</translation>
    </message>
    <message>
        <source>Use %1</source>
        <translation>%1 verwenden</translation>
    </message>
    <message>
        <source>Word %1 is not in Libra&apos;s word list. Check it with your contact.</source>
        <translation>Wort %1 steht nicht in Libras Wortliste. Prüfe es mit deinem Kontakt.</translation>
    </message>
    <message>
        <source>An alias is exactly three words.</source>
        <translation>Ein Alias besteht aus genau drei Wörtern.</translation>
    </message>
    <message>
        <source>%1. You can type the words now; Find works once Libra is connected.</source>
        <translation>%1. Du kannst die Wörter schon eingeben; „Suchen“ funktioniert, sobald Libra verbunden ist.</translation>
    </message>
    <message>
        <source>Scanning with a camera is not available in this copy of Libra. Take a photo or screenshot of the QR code and choose “From a picture…”.</source>
        <translation>Scannen mit einer Kamera ist in dieser Libra-Version nicht verfügbar. Mach ein Foto oder Bildschirmfoto des QR-Codes und wähle „Aus einem Bild…“.</translation>
    </message>
    <message>
        <source>No camera was found. Take a photo or screenshot of the QR code and choose “From a picture…”.</source>
        <translation>Keine Kamera gefunden. Mach ein Foto oder Bildschirmfoto des QR-Codes und wähle „Aus einem Bild…“.</translation>
    </message>
    <message>
        <source>Looking for %1…</source>
        <translation>Suche nach %1…</translation>
    </message>
    <message>
        <source>Libra is asking the Tor network for them. This usually takes 5 to 30 seconds (%1 s so far).</source>
        <translation>Libra fragt das Tor-Netzwerk nach dieser Person. Das dauert meist 5 bis 30 Sekunden (bisher %1 s).</translation>
    </message>
    <message>
        <source>Fingerprint: %1</source>
        <translation>Fingerabdruck: %1</translation>
    </message>
    <message>
        <source>%1 is already one of your contacts.</source>
        <translation>%1 ist bereits einer deiner Kontakte.</translation>
    </message>
    <message>
        <source>✓ Verified: the invite you used names exactly this person&apos;s key, so it is really them.</source>
        <translation>✓ Verifiziert: Die verwendete Einladung nennt genau den Schlüssel dieser Person, also ist sie es wirklich.</translation>
    </message>
    <message>
        <source>Not verified yet: these words belong to this key, but anyone can choose any name. Once they accept, compare safety numbers or ask a question only they can answer.</source>
        <translation>Noch nicht verifiziert: Diese Wörter gehören zu diesem Schlüssel, aber jeder kann jeden Namen wählen. Sobald die Person annimmt, vergleicht eure Sicherheitsnummern oder stell eine Frage, die nur sie beantworten kann.</translation>
    </message>
    <message>
        <source>Hi, it&apos;s %1.</source>
        <translation>Hallo, hier ist %1.</translation>
    </message>
    <message>
        <source>Choose a picture of the QR code</source>
        <translation>Wähle ein Bild des QR-Codes</translation>
    </message>
    <message>
        <source>Pictures (%1)</source>
        <translation>Bilder (%1)</translation>
    </message>
    <message>
        <source>The clipboard holds no text or picture.</source>
        <translation>Die Zwischenablage enthält keinen Text und kein Bild.</translation>
    </message>
    <message>
        <source>Reading the QR code…</source>
        <translation>QR-Code wird gelesen…</translation>
    </message>
    <message>
        <source>Sending your request to %1…</source>
        <translation>Deine Anfrage an %1 wird gesendet…</translation>
    </message>
    <message>
        <source>Request sent to %1</source>
        <translation>Anfrage an %1 gesendet</translation>
    </message>
    <message>
        <source>%1 is in your chats now. You can already write to them: your messages are delivered as soon as they accept.</source>
        <translation>%1 steht jetzt in deinen Chats. Du kannst schon schreiben: Deine Nachrichten werden zugestellt, sobald die Anfrage angenommen ist.</translation>
    </message>
</context>
<context>
    <name>AliasCard</name>
    <message>
        <source>QR code of your invite</source>
        <translation>QR-Code deiner Einladung</translation>
    </message>
    <message>
        <source>Tell people these three words, or let them scan the code, to add you. Only people you accept can write to you.</source>
        <translation>Sag den Leuten diese drei Wörter oder lass sie den Code scannen, damit sie dich hinzufügen. Nur Personen, die du annimmst, können dir schreiben.</translation>
    </message>
    <message>
        <source>Copy words</source>
        <translation>Wörter kopieren</translation>
    </message>
    <message>
        <source>Copy invite link</source>
        <translation>Einladungslink kopieren</translation>
    </message>
    <message>
        <source>Let people find me with these words</source>
        <translation>Mich über diese Wörter finden lassen</translation>
    </message>
    <message>
        <source>While this is on, Libra publishes a small Tor service that answers to your words. Turn it off when you do not expect new contacts.</source>
        <translation>Solange das an ist, veröffentlicht Libra einen kleinen Tor-Dienst, der auf deine Wörter antwortet. Schalte es aus, wenn du keine neuen Kontakte erwartest.</translation>
    </message>
    <message>
        <source>Your alias: %1</source>
        <translation>Dein Alias: %1</translation>
    </message>
    <message>
        <source>Share the invite link or let them scan the code: with this invite the words alone are not enough. Only people you accept can write to you.</source>
        <translation>Teile den Einladungslink oder lass den Code scannen: Mit dieser Einladung reichen die Wörter allein nicht. Nur Personen, die du annimmst, können dir schreiben.</translation>
    </message>
    <message>
        <source>Copied</source>
        <translation>Kopiert</translation>
    </message>
</context>
<context>
    <name>AliasInput</name>
    <message>
        <source>e.g. amber-falcon-canyon, or an invite link</source>
        <translation>z. B. amber-falcon-canyon oder ein Einladungslink</translation>
    </message>
    <message>
        <source>Their three words or invite link</source>
        <translation>Ihre drei Wörter oder ihr Einladungslink</translation>
    </message>
</context>
<context>
    <name>AttachButton</name>
    <message>
        <source>Send a file (Ctrl+O)</source>
        <translation>Datei senden (Strg+O)</translation>
    </message>
    <message>
        <source>Send a file</source>
        <translation>Datei senden</translation>
    </message>
</context>
<context>
    <name>BridgesDialog</name>
    <message>
        <source>Bridges</source>
        <translation>Brücken</translation>
    </message>
    <message>
        <source>Connect through bridges</source>
        <translation>Über Brücken verbinden</translation>
    </message>
    <message>
        <source>If Tor is blocked where you are, bridges help it connect. Get bridge lines at %1, by email from bridges@torproject.org, or from a friend, and paste them below, one bridge per line. They look like this:</source>
        <translation>Wenn Tor bei dir blockiert ist, helfen Brücken beim Verbinden. Brücken-Zeilen bekommst du auf %1, per E-Mail von bridges@torproject.org oder von jemandem, dem du vertraust. Füge sie unten ein, eine Brücke pro Zeile. Sie sehen so aus:</translation>
    </message>
    <message>
        <source>Bridge lines</source>
        <translation>Brücken-Zeilen</translation>
    </message>
    <message>
        <source>Paste bridge lines here</source>
        <translation>Brücken-Zeilen hier einfügen</translation>
    </message>
    <message>
        <source>Save and reconnect</source>
        <translation>Speichern und neu verbinden</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <source>No bridges: Libra connects to Tor directly.</source>
        <translation>Keine Brücken: Libra verbindet sich direkt mit Tor.</translation>
    </message>
    <message>
        <source>plain</source>
        <translation>normal</translation>
    </message>
    <message>
        <source>1 bridge: %1</source>
        <translation>1 Brücke: %1</translation>
    </message>
    <message>
        <source>%1 bridges: %2</source>
        <translation>%1 Brücken: %2</translation>
    </message>
</context>
<context>
    <name>BusyIndicator</name>
    <message>
        <source>Working, please wait</source>
        <translation>Bitte warten, wird bearbeitet</translation>
    </message>
</context>
<context>
    <name>CameraScanDialog</name>
    <message>
        <source>Scan a QR code</source>
        <translation>QR-Code scannen</translation>
    </message>
    <message>
        <source>Hold their QR code in front of the camera.</source>
        <translation>Halte ihren QR-Code vor die Kamera.</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <source>The camera stopped working. Close this and choose “From a picture…”.</source>
        <translation>Die Kamera funktioniert nicht mehr. Schließe dies und wähle „Aus einem Bild…“.</translation>
    </message>
</context>
<context>
    <name>Composer</name>
    <message>
        <source>Write a message</source>
        <translation>Nachricht schreiben</translation>
    </message>
    <message>
        <source>Message</source>
        <translation>Nachricht</translation>
    </message>
    <message>
        <source>Enter sends, Shift+Enter starts a new line</source>
        <translation>Eingabe sendet, Umschalt+Eingabe beginnt eine neue Zeile</translation>
    </message>
</context>
<context>
    <name>ContactDelegate</name>
    <message>
        <source>File: %1</source>
        <translation>Datei: %1</translation>
    </message>
    <message>
        <source>You: %1</source>
        <translation>Du: %1</translation>
    </message>
    <message>
        <source>Blocked</source>
        <translation>Blockiert</translation>
    </message>
    <message>
        <source>Request sent: waiting for them to accept</source>
        <translation>Anfrage gesendet: wartet auf Annahme</translation>
    </message>
</context>
<context>
    <name>ContactDetailsDialog</name>
    <message>
        <source>Contact details</source>
        <translation>Kontaktdetails</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>Schließen</translation>
    </message>
    <message>
        <source>Keep the old keys</source>
        <translation>Alte Schlüssel behalten</translation>
    </message>
    <message>
        <source>Accept the new keys</source>
        <translation>Neue Schlüssel annehmen</translation>
    </message>
    <message>
        <source>A question for you</source>
        <translation>Eine Frage an dich</translation>
    </message>
    <message>
        <source>Your answer</source>
        <translation>Deine Antwort</translation>
    </message>
    <message>
        <source>Decline</source>
        <translation>Ablehnen</translation>
    </message>
    <message>
        <source>Answer</source>
        <translation>Antworten</translation>
    </message>
    <message>
        <source>Safety number</source>
        <translation>Sicherheitsnummer</translation>
    </message>
    <message>
        <source>Compare this number with the one on their screen, in person or on a call. If they match, your conversation is really with them and nobody is in between.</source>
        <translation>Vergleiche diese Nummer mit der auf dem Bildschirm deines Kontakts, persönlich oder bei einem Anruf. Stimmen sie überein, sprichst du wirklich mit dieser Person und niemand ist dazwischen.</translation>
    </message>
    <message>
        <source>Safety number as a QR code</source>
        <translation>Sicherheitsnummer als QR-Code</translation>
    </message>
    <message>
        <source>Copy number</source>
        <translation>Nummer kopieren</translation>
    </message>
    <message>
        <source>They match: mark as verified</source>
        <translation>Sie stimmen überein: als verifiziert markieren</translation>
    </message>
    <message>
        <source>Ask a question only they can answer</source>
        <translation>Eine Frage stellen, die nur diese Person beantworten kann</translation>
    </message>
    <message>
        <source>If their answer matches yours, they become verified. Your answer never leaves this computer: both sides only learn whether the answers match. Capitals and spaces do not count.</source>
        <translation>Stimmt ihre Antwort mit deiner überein, ist die Person verifiziert. Deine Antwort verlässt diesen Computer nie: Beide Seiten erfahren nur, ob die Antworten übereinstimmen. Groß- und Kleinschreibung und Leerzeichen zählen nicht.</translation>
    </message>
    <message>
        <source>Question, e.g. Where did we first meet?</source>
        <translation>Frage, z. B. Wo haben wir uns kennengelernt?</translation>
    </message>
    <message>
        <source>Question</source>
        <translation>Frage</translation>
    </message>
    <message>
        <source>The answer you expect</source>
        <translation>Die Antwort, die du erwartest</translation>
    </message>
    <message>
        <source>Ask</source>
        <translation>Fragen</translation>
    </message>
    <message>
        <source>Withdraw</source>
        <translation>Zurückziehen</translation>
    </message>
    <message>
        <source>Trust</source>
        <translation>Vertrauen</translation>
    </message>
    <message>
        <source>Trust level</source>
        <translation>Vertrauensstufe</translation>
    </message>
    <message>
        <source>Direct connection</source>
        <translation>Direktverbindung</translation>
    </message>
    <message>
        <source>Messages and files normally travel through Tor. A direct connection is much faster, which helps most with big files.</source>
        <translation>Nachrichten und Dateien gehen normalerweise über Tor. Eine Direktverbindung ist viel schneller, was vor allem bei großen Dateien hilft.</translation>
    </message>
    <message>
        <source>Block or delete</source>
        <translation>Blockieren oder löschen</translation>
    </message>
    <message>
        <source>Delete contact…</source>
        <translation>Kontakt löschen…</translation>
    </message>
    <message>
        <source>Keep</source>
        <translation>Behalten</translation>
    </message>
    <message>
        <source>Delete</source>
        <translation>Löschen</translation>
    </message>
    <message>
        <source>%1: contact details</source>
        <translation>%1: Kontaktdetails</translation>
    </message>
    <message>
        <source>Key fingerprint: %1</source>
        <translation>Schlüssel-Fingerabdruck: %1</translation>
    </message>
    <message>
        <source>%1&apos;s security keys changed</source>
        <translation>Die Sicherheitsschlüssel von %1 haben sich geändert</translation>
    </message>
    <message>
        <source>This happens when %1 reinstalls Libra, but it can also mean that someone is pretending to be them. Libra keeps using the old keys until you decide. Ask %1 in person or on a call before you accept the new keys.</source>
        <translation>Das passiert, wenn %1 Libra neu installiert, kann aber auch bedeuten, dass sich jemand als diese Person ausgibt. Libra verwendet die alten Schlüssel weiter, bis du entscheidest. Frag %1 persönlich oder bei einem Anruf, bevor du die neuen Schlüssel annimmst.</translation>
    </message>
    <message>
        <source>%1 asks: “%2”</source>
        <translation>%1 fragt: „%2“</translation>
    </message>
    <message>
        <source>Safety number: %1</source>
        <translation>Sicherheitsnummer: %1</translation>
    </message>
    <message>
        <source>✓ You verified %1</source>
        <translation>✓ Du hast %1 verifiziert</translation>
    </message>
    <message>
        <source>Waiting for %1 to answer (up to 10 minutes)…</source>
        <translation>Warte auf die Antwort von %1 (bis zu 10 Minuten)…</translation>
    </message>
    <message>
        <source>Now: a direct connection may be used with %1.</source>
        <translation>Jetzt: Mit %1 kann eine Direktverbindung verwendet werden.</translation>
    </message>
    <message>
        <source>Now: everything with %1 goes through Tor.</source>
        <translation>Jetzt: Alles mit %1 geht über Tor.</translation>
    </message>
    <message>
        <source>Unblock %1</source>
        <translation>%1 nicht mehr blockieren</translation>
    </message>
    <message>
        <source>%1 is blocked: Libra does not connect to them and refuses their connections and contact requests. Your conversation is kept.</source>
        <translation>%1 ist blockiert: Libra verbindet sich nicht mit dieser Person und lehnt ihre Verbindungen und Kontaktanfragen ab. Euer Gespräch bleibt erhalten.</translation>
    </message>
    <message>
        <source>Block %1</source>
        <translation>%1 blockieren</translation>
    </message>
    <message>
        <source>Blocking stops all contact with %1 (they are not told). Deleting also removes your conversation and received files from this computer.</source>
        <translation>Blockieren beendet jeden Kontakt mit %1 (die Person erfährt es nicht). Löschen entfernt außerdem euer Gespräch und empfangene Dateien von diesem Computer.</translation>
    </message>
    <message>
        <source>Delete %1 and your whole conversation, including received files? This cannot be undone. To talk again, one of you sends a new contact request.</source>
        <translation>%1 und euer ganzes Gespräch löschen, einschließlich empfangener Dateien? Das lässt sich nicht rückgängig machen. Um wieder zu schreiben, sendet einer von euch eine neue Kontaktanfrage.</translation>
    </message>
    <message>
        <source>Waiting for them to accept your request</source>
        <translation>Wartet darauf, dass deine Anfrage angenommen wird</translation>
    </message>
    <message>
        <source>Blocked</source>
        <translation>Blockiert</translation>
    </message>
    <message>
        <source>Write a question and the answer you expect.</source>
        <translation>Schreib eine Frage und die Antwort, die du erwartest.</translation>
    </message>
    <message>
        <source>✓ The answers matched: %1 is verified.</source>
        <translation>✓ Die Antworten stimmten überein: %1 ist verifiziert.</translation>
    </message>
    <message>
        <source>The answers did not match. Check the question with %1, or compare safety numbers instead.</source>
        <translation>Die Antworten stimmten nicht überein. Klär die Frage mit %1 oder vergleicht stattdessen die Sicherheitsnummern.</translation>
    </message>
    <message>
        <source>The question was withdrawn.</source>
        <translation>Die Frage wurde zurückgezogen.</translation>
    </message>
    <message>
        <source>%1 declined to answer.</source>
        <translation>%1 hat die Antwort abgelehnt.</translation>
    </message>
    <message>
        <source>No answer in time. Try again when %1 is online.</source>
        <translation>Keine Antwort in der Zeit. Versuch es erneut, wenn %1 online ist.</translation>
    </message>
    <message>
        <source>%1 is answering another question. Try again later.</source>
        <translation>%1 beantwortet gerade eine andere Frage. Versuch es später erneut.</translation>
    </message>
    <message>
        <source>The check stopped. Try again.</source>
        <translation>Die Prüfung wurde abgebrochen. Versuch es erneut.</translation>
    </message>
    <message>
        <source>Copied</source>
        <translation>Kopiert</translation>
    </message>
</context>
<context>
    <name>ContactListModel</name>
    <message>
        <source>waiting for them to accept your request</source>
        <translation>wartet darauf, dass deine Anfrage angenommen wird</translation>
    </message>
    <message>
        <source>blocked</source>
        <translation>blockiert</translation>
    </message>
</context>
<context>
    <name>ErrorCard</name>
    <message>
        <source>Try again</source>
        <translation>Erneut versuchen</translation>
    </message>
    <message>
        <source>Choose Tor program…</source>
        <translation>Tor-Programm wählen…</translation>
    </message>
    <message>
        <source>Add bridges…</source>
        <translation>Brücken hinzufügen…</translation>
    </message>
</context>
<context>
    <name>FileBubble</name>
    <message>
        <source>Progress</source>
        <translation>Fortschritt</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <source>Accept</source>
        <translation>Annehmen</translation>
    </message>
    <message>
        <source>Save…</source>
        <translation>Speichern…</translation>
    </message>
    <message>
        <source>Open</source>
        <translation>Öffnen</translation>
    </message>
    <message>
        <source>Preparing…</source>
        <translation>Wird vorbereitet…</translation>
    </message>
    <message>
        <source>Saved to %1</source>
        <translation>Gespeichert unter %1</translation>
    </message>
    <message>
        <source>Decline</source>
        <translation>Ablehnen</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>Libra</source>
        <translation>Libra</translation>
    </message>
    <message>
        <source>&amp;Libra</source>
        <translation>&amp;Libra</translation>
    </message>
    <message>
        <source>&amp;Chat</source>
        <translation>&amp;Chat</translation>
    </message>
    <message>
        <source>&amp;Add a contact…</source>
        <translation>Kontakt &amp;hinzufügen…</translation>
    </message>
    <message>
        <source>&amp;Go to a chat…</source>
        <translation>Zu einem Chat &amp;wechseln…</translation>
    </message>
    <message>
        <source>&amp;My alias…</source>
        <translation>&amp;Mein Alias…</translation>
    </message>
    <message>
        <source>&amp;Tor connection…</source>
        <translation>&amp;Tor-Verbindung…</translation>
    </message>
    <message>
        <source>&amp;Settings…</source>
        <translation>&amp;Einstellungen…</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>&amp;Beenden</translation>
    </message>
    <message>
        <source>Send a &amp;file…</source>
        <translation>&amp;Datei senden…</translation>
    </message>
    <message>
        <source>Contact &amp;details…</source>
        <translation>Kontakt&amp;details…</translation>
    </message>
    <message>
        <source>&amp;Previous chat</source>
        <translation>&amp;Vorheriger Chat</translation>
    </message>
    <message>
        <source>&amp;Next chat</source>
        <translation>&amp;Nächster Chat</translation>
    </message>
    <message>
        <source>My alias</source>
        <translation>Mein Alias</translation>
    </message>
    <message>
        <source>Your three words and QR code, to share</source>
        <translation>Deine drei Wörter und dein QR-Code zum Teilen</translation>
    </message>
    <message>
        <source>Add a contact (Ctrl+N)</source>
        <translation>Kontakt hinzufügen (Strg+N)</translation>
    </message>
    <message>
        <source>Add a contact</source>
        <translation>Kontakt hinzufügen</translation>
    </message>
    <message>
        <source>Chats</source>
        <translation>Chats</translation>
    </message>
    <message>
        <source>Contacts</source>
        <translation>Kontakte</translation>
    </message>
    <message>
        <source>No contacts yet</source>
        <translation>Noch keine Kontakte</translation>
    </message>
    <message>
        <source>Add someone with their three words, invite link or QR code, or share your own alias with them. Requests you receive appear here.</source>
        <translation>Füge jemanden über die drei Wörter, den Einladungslink oder den QR-Code hinzu, oder teile deinen eigenen Alias. Anfragen, die du bekommst, erscheinen hier.</translation>
    </message>
    <message>
        <source>Show my alias</source>
        <translation>Meinen Alias zeigen</translation>
    </message>
    <message>
        <source>Choose a conversation</source>
        <translation>Wähle ein Gespräch</translation>
    </message>
    <message>
        <source>Messages are end-to-end encrypted and travel through Tor. Only you and your contact can read them.</source>
        <translation>Nachrichten sind Ende-zu-Ende-verschlüsselt und gehen über Tor. Nur du und dein Kontakt können sie lesen.</translation>
    </message>
    <message>
        <source>Ctrl+K: go to a chat · Ctrl+N: add a contact</source>
        <translation>Strg+K: zu einem Chat wechseln · Strg+N: Kontakt hinzufügen</translation>
    </message>
    <message>
        <source>Details</source>
        <translation>Details</translation>
    </message>
    <message>
        <source>Safety number, verification, trust, direct connection (Ctrl+I)</source>
        <translation>Sicherheitsnummer, Verifizierung, Vertrauen, Direktverbindung (Strg+I)</translation>
    </message>
    <message>
        <source>Send</source>
        <translation>Senden</translation>
    </message>
    <message>
        <source>Send (Enter)</source>
        <translation>Senden (Eingabe)</translation>
    </message>
    <message>
        <source>Your chats will appear here</source>
        <translation>Deine Chats erscheinen hier</translation>
    </message>
    <message>
        <source>Libra (%1)</source>
        <translation>Libra (%1)</translation>
    </message>
    <message>
        <source>Messages</source>
        <translation>Nachrichten</translation>
    </message>
    <message>
        <source>Messages with %1</source>
        <translation>Nachrichten mit %1</translation>
    </message>
    <message>
        <source>You blocked %1</source>
        <translation>Du hast %1 blockiert</translation>
    </message>
    <message>
        <source>Write a message</source>
        <translation>Nachricht schreiben</translation>
    </message>
    <message>
        <source>%1&apos;s security keys changed. Check before you continue.</source>
        <translation>Die Sicherheitsschlüssel von %1 haben sich geändert. Prüfe das, bevor du weitermachst.</translation>
    </message>
    <message>
        <source>Review…</source>
        <translation>Prüfen…</translation>
    </message>
    <message>
        <source>%1 asks you a question to check it is really you.</source>
        <translation>%1 stellt dir eine Frage, um zu prüfen, dass du es wirklich bist.</translation>
    </message>
    <message>
        <source>Answer…</source>
        <translation>Antworten…</translation>
    </message>
    <message>
        <source>You blocked %1. Nothing is sent or received.</source>
        <translation>Du hast %1 blockiert. Es wird nichts gesendet oder empfangen.</translation>
    </message>
    <message>
        <source>Unblock</source>
        <translation>Nicht mehr blockieren</translation>
    </message>
    <message>
        <source>Waiting for %1 to accept your request. What you write now is delivered once they do.</source>
        <translation>Warte darauf, dass %1 deine Anfrage annimmt. Was du jetzt schreibst, wird danach zugestellt.</translation>
    </message>
    <message>
        <source>Send a file</source>
        <translation>Datei senden</translation>
    </message>
    <message>
        <source>Open the file</source>
        <translation>Datei öffnen</translation>
    </message>
    <message>
        <source>Save the file</source>
        <translation>Datei speichern</translation>
    </message>
    <message>
        <source>Saved to %1</source>
        <translation>Gespeichert unter %1</translation>
    </message>
</context>
<context>
    <name>MessageListModel</name>
    <message>
        <source>You</source>
        <translation>Du</translation>
    </message>
    <message>
        <source>Contact</source>
        <translation>Kontakt</translation>
    </message>
    <message>
        <source>%1, %2, file %3: %4</source>
        <translation>%1, %2, Datei %3: %4</translation>
    </message>
</context>
<context>
    <name>MyAliasDialog</name>
    <message>
        <source>My alias</source>
        <translation>Mein Alias</translation>
    </message>
    <message>
        <source>Make a new invite</source>
        <translation>Neue Einladung erstellen</translation>
    </message>
    <message>
        <source>Who can find me</source>
        <translation>Wer mich finden kann</translation>
    </message>
    <message>
        <source>Anyone who knows my three words</source>
        <translation>Alle, die meine drei Wörter kennen</translation>
    </message>
    <message>
        <source>Only people I give my invite link or QR code</source>
        <translation>Nur Personen, denen ich meinen Einladungslink oder QR-Code gebe</translation>
    </message>
    <message>
        <source>Your words alone are not enough then: nobody can even tell whether you use Libra. Each time you turn this on, you get a new link and code.</source>
        <translation>Deine Wörter allein reichen dann nicht: Niemand kann auch nur erkennen, ob du Libra verwendest. Jedes Mal, wenn du das einschaltest, bekommst du einen neuen Link und Code.</translation>
    </message>
    <message>
        <source>The invite works only once (for one person)</source>
        <translation>Die Einladung funktioniert nur einmal (für eine Person)</translation>
    </message>
    <message>
        <source>Stop being findable</source>
        <translation>Nicht mehr auffindbar sein</translation>
    </message>
    <message>
        <source>New words…</source>
        <translation>Neue Wörter…</translation>
    </message>
    <message>
        <source>Replace your words, link and QR code (your contacts are not affected)</source>
        <translation>Wörter, Link und QR-Code ersetzen (deine Kontakte sind nicht betroffen)</translation>
    </message>
    <message>
        <source>New words replace your current ones: the old words, links and QR codes stop working at once. People who are already your contacts are not affected.</source>
        <translation>Neue Wörter ersetzen deine jetzigen: Die alten Wörter, Links und QR-Codes funktionieren sofort nicht mehr. Personen, die schon deine Kontakte sind, sind nicht betroffen.</translation>
    </message>
    <message>
        <source>Keep my words</source>
        <translation>Meine Wörter behalten</translation>
    </message>
    <message>
        <source>Make new words</source>
        <translation>Neue Wörter erstellen</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>Schließen</translation>
    </message>
    <message>
        <source>At %1 (as set)</source>
        <translation>Um %1 (wie eingestellt)</translation>
    </message>
    <message>
        <source>Never</source>
        <translation>Nie</translation>
    </message>
    <message>
        <source>In 1 hour</source>
        <translation>In 1 Stunde</translation>
    </message>
    <message>
        <source>In 1 day</source>
        <translation>In 1 Tag</translation>
    </message>
    <message>
        <source>In 1 week</source>
        <translation>In 1 Woche</translation>
    </message>
    <message>
        <source>Nobody can find you right now. Your contacts can still reach you as usual.</source>
        <translation>Gerade kann dich niemand finden. Deine Kontakte erreichen dich weiterhin wie gewohnt.</translation>
    </message>
    <message>
        <source>Your one-time invite was used. Make a new one to add someone else.</source>
        <translation>Deine einmalige Einladung wurde benutzt. Erstelle eine neue, um jemand anderen hinzuzufügen.</translation>
    </message>
    <message>
        <source>Your invite has expired. Make a new one.</source>
        <translation>Deine Einladung ist abgelaufen. Erstelle eine neue.</translation>
    </message>
    <message>
        <source>Findable: only with your invite link or QR code.</source>
        <translation>Auffindbar: nur mit deinem Einladungslink oder QR-Code.</translation>
    </message>
    <message>
        <source>Findable: anyone who knows your three words can send you a request.</source>
        <translation>Auffindbar: Alle, die deine drei Wörter kennen, können dir eine Anfrage senden.</translation>
    </message>
</context>
<context>
    <name>Notifier</name>
    <message>
        <source>Libra</source>
        <translation>Libra</translation>
    </message>
    <message>
        <source>New message from %1</source>
        <translation>Neue Nachricht von %1</translation>
    </message>
    <message>
        <source>New message</source>
        <translation>Neue Nachricht</translation>
    </message>
    <message>
        <source>New contact request from %1</source>
        <translation>Neue Kontaktanfrage von %1</translation>
    </message>
    <message>
        <source>New contact request</source>
        <translation>Neue Kontaktanfrage</translation>
    </message>
    <message>
        <source>%1 asks you a question to check it is really you</source>
        <translation>%1 stellt dir eine Frage, um zu prüfen, dass du es wirklich bist</translation>
    </message>
    <message>
        <source>A contact asks you a question to check it is really you</source>
        <translation>Ein Kontakt stellt dir eine Frage, um zu prüfen, dass du es wirklich bist</translation>
    </message>
    <message>
        <source>%1&apos;s security keys changed: check before you continue</source>
        <translation>Die Sicherheitsschlüssel von %1 haben sich geändert: Prüfe das, bevor du weitermachst</translation>
    </message>
</context>
<context>
    <name>OnboardingDialog</name>
    <message>
        <source>Choose the backup folder</source>
        <translation>Ordner der Sicherung wählen</translation>
    </message>
    <message>
        <source>Welcome to Libra</source>
        <translation>Willkommen bei Libra</translation>
    </message>
    <message>
        <source>Private conversations with people you know. No phone number, no account and no server: Libra connects you to your contacts through the Tor network, and only you and they can read your messages.</source>
        <translation>Private Gespräche mit Menschen, die du kennst. Keine Telefonnummer, kein Konto und kein Server: Libra verbindet dich über das Tor-Netzwerk mit deinen Kontakten, und nur du und sie können eure Nachrichten lesen.</translation>
    </message>
    <message>
        <source>Create my profile</source>
        <translation>Mein Profil erstellen</translation>
    </message>
    <message>
        <source>I already have a profile…</source>
        <translation>Ich habe schon ein Profil…</translation>
    </message>
    <message>
        <source>Restore from a backup…</source>
        <translation>Aus einer Sicherung wiederherstellen…</translation>
    </message>
    <message>
        <source>What should your contacts call you?</source>
        <translation>Wie sollen deine Kontakte dich nennen?</translation>
    </message>
    <message>
        <source>People you talk to see this name. A first name or a nickname is fine.</source>
        <translation>Die Menschen, mit denen du schreibst, sehen diesen Namen. Ein Vorname oder Spitzname genügt.</translation>
    </message>
    <message>
        <source>Your name</source>
        <translation>Dein Name</translation>
    </message>
    <message>
        <source>Continue</source>
        <translation>Weiter</translation>
    </message>
    <message>
        <source>Back</source>
        <translation>Zurück</translation>
    </message>
    <message>
        <source>Choose a passphrase</source>
        <translation>Wähle eine Passphrase</translation>
    </message>
    <message>
        <source>It encrypts your messages and keys on this computer, and you type it each time you open Libra. Nobody can recover it for you, so write it down somewhere safe. Tip: four or more random words are strong and easy to remember.</source>
        <translation>Sie verschlüsselt deine Nachrichten und Schlüssel auf diesem Computer, und du gibst sie bei jedem Öffnen von Libra ein. Niemand kann sie für dich wiederherstellen, also schreib sie dir an einem sicheren Ort auf. Tipp: Vier oder mehr zufällige Wörter sind stark und leicht zu merken.</translation>
    </message>
    <message>
        <source>Passphrase</source>
        <translation>Passphrase</translation>
    </message>
    <message>
        <source>Repeat the passphrase</source>
        <translation>Passphrase wiederholen</translation>
    </message>
    <message>
        <source>Create profile</source>
        <translation>Profil erstellen</translation>
    </message>
    <message>
        <source>Restore from a backup</source>
        <translation>Aus einer Sicherung wiederherstellen</translation>
    </message>
    <message>
        <source>Type the passphrase this profile had when the backup was made. Libra checks it, then copies the backup into place; the backup folder is not changed.</source>
        <translation>Gib die Passphrase ein, die dieses Profil hatte, als die Sicherung erstellt wurde. Libra prüft sie und kopiert dann die Sicherung an ihren Platz; der Ordner der Sicherung wird nicht verändert.</translation>
    </message>
    <message>
        <source>Passphrase of the backup</source>
        <translation>Passphrase der Sicherung</translation>
    </message>
    <message>
        <source>Restore</source>
        <translation>Wiederherstellen</translation>
    </message>
    <message>
        <source>Creating your profile…</source>
        <translation>Dein Profil wird erstellt…</translation>
    </message>
    <message>
        <source>Libra is making your keys and deriving the encryption key from your passphrase. This takes a few seconds.</source>
        <translation>Libra erzeugt deine Schlüssel und leitet aus deiner Passphrase den Verschlüsselungsschlüssel ab. Das dauert ein paar Sekunden.</translation>
    </message>
    <message>
        <source>This is your alias. It is how people find you on Libra.</source>
        <translation>Das ist dein Alias. So finden dich Menschen auf Libra.</translation>
    </message>
    <message>
        <source>Open Libra</source>
        <translation>Libra öffnen</translation>
    </message>
    <message>
        <source>The passphrases match.</source>
        <translation>Die Passphrasen stimmen überein.</translation>
    </message>
    <message>
        <source>The passphrases are different.</source>
        <translation>Die Passphrasen sind verschieden.</translation>
    </message>
    <message>
        <source>Welcome, %1!</source>
        <translation>Willkommen, %1!</translation>
    </message>
    <message>
        <source>Your profile was not created</source>
        <translation>Dein Profil wurde nicht erstellt</translation>
    </message>
    <message>
        <source>Backup folder: %1</source>
        <translation>Ordner der Sicherung: %1</translation>
    </message>
    <message>
        <source>Restoring your profile…</source>
        <translation>Dein Profil wird wiederhergestellt…</translation>
    </message>
    <message>
        <source>Libra is checking the passphrase and copying your backup into place. This takes a few seconds.</source>
        <translation>Libra prüft die Passphrase und kopiert deine Sicherung an ihren Platz. Das dauert ein paar Sekunden.</translation>
    </message>
    <message>
        <source>Your profile was not restored</source>
        <translation>Dein Profil wurde nicht wiederhergestellt</translation>
    </message>
    <message>
        <source>Choose your Libra profile folder</source>
        <translation>Wähle deinen Libra-Profilordner</translation>
    </message>
</context>
<context>
    <name>PassphraseField</name>
    <message>
        <source>Show</source>
        <translation>Zeigen</translation>
    </message>
</context>
<context>
    <name>QuickSwitcher</name>
    <message>
        <source>Go to a chat</source>
        <translation>Zu einem Chat wechseln</translation>
    </message>
    <message>
        <source>Type a name</source>
        <translation>Einen Namen eingeben</translation>
    </message>
    <message>
        <source>Search contacts</source>
        <translation>Kontakte durchsuchen</translation>
    </message>
    <message>
        <source>Matching contacts</source>
        <translation>Passende Kontakte</translation>
    </message>
    <message>
        <source>No contact has that name.</source>
        <translation>Kein Kontakt hat diesen Namen.</translation>
    </message>
</context>
<context>
    <name>RequestsSection</name>
    <message>
        <source>Contact requests (%1)</source>
        <translation>Kontaktanfragen (%1)</translation>
    </message>
    <message>
        <source>Sent requests (%1)</source>
        <translation>Gesendete Anfragen (%1)</translation>
    </message>
    <message>
        <source>Key fingerprint: %1</source>
        <translation>Schlüssel-Fingerabdruck: %1</translation>
    </message>
    <message>
        <source>Block</source>
        <translation>Blockieren</translation>
    </message>
    <message>
        <source>Decline, and refuse every later request from this person</source>
        <translation>Ablehnen und jede weitere Anfrage dieser Person abweisen</translation>
    </message>
    <message>
        <source>Block %1</source>
        <translation>%1 blockieren</translation>
    </message>
    <message>
        <source>Accept</source>
        <translation>Annehmen</translation>
    </message>
    <message>
        <source>Accept %1</source>
        <translation>%1 annehmen</translation>
    </message>
    <message>
        <source>Decline</source>
        <translation>Ablehnen</translation>
    </message>
    <message>
        <source>Decline %1</source>
        <translation>%1 ablehnen</translation>
    </message>
    <message>
        <source>Waiting for them to accept</source>
        <translation>Wartet auf Annahme</translation>
    </message>
    <message>
        <source>Withdraw</source>
        <translation>Zurückziehen</translation>
    </message>
    <message>
        <source>Forget this request and the contact</source>
        <translation>Diese Anfrage und den Kontakt vergessen</translation>
    </message>
    <message>
        <source>Withdraw request to %1</source>
        <translation>Anfrage an %1 zurückziehen</translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <source>Settings</source>
        <translation>Einstellungen</translation>
    </message>
    <message>
        <source>Settings pages</source>
        <translation>Einstellungsseiten</translation>
    </message>
    <message>
        <source>Tor</source>
        <translation>Tor</translation>
    </message>
    <message>
        <source>Privacy</source>
        <translation>Privatsphäre</translation>
    </message>
    <message>
        <source>Appearance</source>
        <translation>Darstellung</translation>
    </message>
    <message>
        <source>Security</source>
        <translation>Sicherheit</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>Schließen</translation>
    </message>
    <message>
        <source>Libra reaches your contacts only through the Tor network. The settings here help when Tor cannot connect, or if you run Tor yourself. Saving reconnects Tor; messages you write meanwhile wait and are sent afterwards.</source>
        <translation>Libra erreicht deine Kontakte nur über das Tor-Netzwerk. Die Einstellungen hier helfen, wenn Tor keine Verbindung bekommt oder wenn du Tor selbst betreibst. Speichern verbindet Tor neu; Nachrichten, die du in der Zwischenzeit schreibst, warten und werden danach gesendet.</translation>
    </message>
    <message>
        <source>Tor program</source>
        <translation>Tor-Programm</translation>
    </message>
    <message>
        <source>Which Tor Libra uses. Most people keep the first choice.</source>
        <translation>Welches Tor Libra verwendet. Die meisten behalten die erste Wahl.</translation>
    </message>
    <message>
        <source>The Tor that comes with Libra (recommended)</source>
        <translation>Das Tor, das mit Libra kommt (empfohlen)</translation>
    </message>
    <message>
        <source>The Tor installed on this computer</source>
        <translation>Das auf diesem Computer installierte Tor</translation>
    </message>
    <message>
        <source>A Tor program I choose</source>
        <translation>Ein Tor-Programm, das ich wähle</translation>
    </message>
    <message>
        <source>A Tor that is already running (advanced)</source>
        <translation>Ein Tor, das bereits läuft (für Fortgeschrittene)</translation>
    </message>
    <message>
        <source>Path of the tor program</source>
        <translation>Pfad des Tor-Programms</translation>
    </message>
    <message>
        <source>Choose…</source>
        <translation>Wählen…</translation>
    </message>
    <message>
        <source>127.0.0.1:9051 or /run/tor/control</source>
        <translation>127.0.0.1:9051 oder /run/tor/control</translation>
    </message>
    <message>
        <source>Control port or socket</source>
        <translation>Steuerport oder Socket</translation>
    </message>
    <message>
        <source>Control password (empty: use tor&apos;s cookie file)</source>
        <translation>Steuerpasswort (leer: Tors Cookie-Datei verwenden)</translation>
    </message>
    <message>
        <source>Control password</source>
        <translation>Steuerpasswort</translation>
    </message>
    <message>
        <source>Tor&apos;s ControlPort (or ControlSocket) setting says where this is. Bridges and the settings below then have no effect: that Tor uses its own configuration.</source>
        <translation>Die Einstellung ControlPort (oder ControlSocket) dieses Tors sagt, wo das ist. Brücken und die Einstellungen unten wirken dann nicht: Dieses Tor verwendet seine eigene Konfiguration.</translation>
    </message>
    <message>
        <source>Bridges</source>
        <translation>Brücken</translation>
    </message>
    <message>
        <source>If Tor stays stuck while connecting, Tor may be blocked where you are. Bridges are unlisted entrances to the Tor network that help then. Get bridge lines at %1 (or by email from bridges@torproject.org, or from a friend) and paste them below, one bridge per line.</source>
        <translation>Wenn Tor beim Verbinden hängen bleibt, ist Tor bei dir vielleicht blockiert. Brücken sind nicht öffentlich gelistete Zugänge zum Tor-Netzwerk, die dann helfen. Brücken-Zeilen bekommst du auf %1 (oder per E-Mail von bridges@torproject.org oder von jemandem, dem du vertraust). Füge sie unten ein, eine Brücke pro Zeile.</translation>
    </message>
    <message>
        <source>Use bridges</source>
        <translation>Brücken verwenden</translation>
    </message>
    <message>
        <source>Bridge lines</source>
        <translation>Brücken-Zeilen</translation>
    </message>
    <message>
        <source>Advanced</source>
        <translation>Erweitert</translation>
    </message>
    <message>
        <source>Only for special set-ups. The defaults suit almost everyone.</source>
        <translation>Nur für besondere Einrichtungen. Die Standardwerte passen für fast alle.</translation>
    </message>
    <message>
        <source>Let Tor learn how long to wait for a circuit (recommended)</source>
        <translation>Tor lernen lassen, wie lange es auf einen Kanal wartet (empfohlen)</translation>
    </message>
    <message>
        <source> s</source>
        <translation> s</translation>
    </message>
    <message>
        <source>Circuit build timeout in seconds</source>
        <translation>Zeitlimit für den Aufbau eines Kanals in Sekunden</translation>
    </message>
    <message>
        <source>Seconds without progress before Libra reports a problem</source>
        <translation>Sekunden ohne Fortschritt, bevor Libra ein Problem meldet</translation>
    </message>
    <message>
        <source>Extra Tor settings</source>
        <translation>Zusätzliche Tor-Einstellungen</translation>
    </message>
    <message>
        <source>One torrc setting per line</source>
        <translation>Eine torrc-Einstellung pro Zeile</translation>
    </message>
    <message>
        <source>Wait for a circuit at most</source>
        <translation>Höchstens so lange auf einen Kanal warten</translation>
    </message>
    <message>
        <source>Report a problem after no progress for</source>
        <translation>Ein Problem melden nach so langer Zeit ohne Fortschritt</translation>
    </message>
    <message>
        <source>Lines added to Tor&apos;s configuration, like in a torrc file. Libra refuses lines that would break its own connection or make this computer serve others.</source>
        <translation>Zeilen, die Tors Konfiguration hinzugefügt werden, wie in einer torrc-Datei. Libra lehnt Zeilen ab, die seine eigene Verbindung stören oder diesen Computer für andere arbeiten lassen würden.</translation>
    </message>
    <message>
        <source>Save and reconnect</source>
        <translation>Speichern und neu verbinden</translation>
    </message>
    <message>
        <source>Enter where that Tor listens.</source>
        <translation>Gib ein, wo dieses Tor erreichbar ist.</translation>
    </message>
    <message>
        <source>Use HOST:PORT (like 127.0.0.1:9051) or the path of a socket.</source>
        <translation>Verwende HOST:PORT (wie 127.0.0.1:9051) oder den Pfad eines Sockets.</translation>
    </message>
    <message>
        <source>Libra will use the Tor at %1.</source>
        <translation>Libra verwendet das Tor unter %1.</translation>
    </message>
    <message>
        <source>Choose the tor program file.</source>
        <translation>Wähle die Datei des Tor-Programms.</translation>
    </message>
    <message>
        <source>No Tor was found: reinstall Libra, or choose a Tor program.</source>
        <translation>Kein Tor gefunden: Installiere Libra neu oder wähle ein Tor-Programm.</translation>
    </message>
    <message>
        <source>No Tor is installed on this computer.</source>
        <translation>Auf diesem Computer ist kein Tor installiert.</translation>
    </message>
    <message>
        <source>That file is not a program Libra can run.</source>
        <translation>Diese Datei ist kein Programm, das Libra ausführen kann.</translation>
    </message>
    <message>
        <source>Libra will run %1.</source>
        <translation>Libra startet %1.</translation>
    </message>
    <message>
        <source>Paste at least one bridge line.</source>
        <translation>Füge mindestens eine Brücken-Zeile ein.</translation>
    </message>
    <message>
        <source>plain</source>
        <translation>normal</translation>
    </message>
    <message>
        <source>1 bridge: %1</source>
        <translation>1 Brücke: %1</translation>
    </message>
    <message>
        <source>%1 bridges: %2</source>
        <translation>%1 Brücken: %2</translation>
    </message>
    <message>
        <source>Choose the Tor program</source>
        <translation>Wähle das Tor-Programm</translation>
    </message>
    <message>
        <source>Saving and reconnecting…</source>
        <translation>Wird gespeichert und neu verbunden…</translation>
    </message>
    <message>
        <source>Saved. Tor is reconnecting (see the status bar).</source>
        <translation>Gespeichert. Tor verbindet sich neu (siehe Statusleiste).</translation>
    </message>
    <message>
        <source>Who can find you, who may learn your IP address, and what Libra accepts without asking. Changes apply from the next connection on.</source>
        <translation>Wer dich finden kann, wer deine IP-Adresse erfahren darf und was Libra ohne Nachfrage annimmt. Änderungen gelten ab der nächsten Verbindung.</translation>
    </message>
    <message>
        <source>Direct connections</source>
        <translation>Direktverbindungen</translation>
    </message>
    <message>
        <source>Libra can connect you straight to a contact&apos;s computer when you both allow it: messages and files arrive faster. Otherwise everything goes through Tor.</source>
        <translation>Libra kann dich direkt mit dem Computer eines Kontakts verbinden, wenn ihr beide es erlaubt: Nachrichten und Dateien kommen schneller an. Sonst geht alles über Tor.</translation>
    </message>
    <message>
        <source>Allow direct connections with:</source>
        <translation>Direktverbindungen erlauben mit:</translation>
    </message>
    <message>
        <source>Verified contacts only (recommended)</source>
        <translation>Nur verifizierten Kontakten (empfohlen)</translation>
    </message>
    <message>
        <source>All my contacts</source>
        <translation>Allen meinen Kontakten</translation>
    </message>
    <message>
        <source>Nobody: always use Tor</source>
        <translation>Niemandem: immer Tor verwenden</translation>
    </message>
    <message>
        <source>You can choose differently for one contact in that contact&apos;s details.</source>
        <translation>Für einzelne Kontakte kannst du in deren Kontaktdetails anders entscheiden.</translation>
    </message>
    <message>
        <source>STUN and TURN servers (optional)</source>
        <translation>STUN- und TURN-Server (optional)</translation>
    </message>
    <message>
        <source>They help direct connections get through home routers. Each server you add learns your IP address. Without any, direct connections work only between computers on the same network. One per line, like stun:stun.example.org:3478 or turn:user:password@turn.example.org:3478.</source>
        <translation>Sie helfen Direktverbindungen durch Heimrouter. Jeder Server, den du einträgst, erfährt deine IP-Adresse. Ohne Server funktionieren Direktverbindungen nur zwischen Computern im selben Netzwerk. Einer pro Zeile, etwa stun:stun.example.org:3478 oder turn:benutzer:passwort@turn.example.org:3478.</translation>
    </message>
    <message>
        <source>STUN and TURN servers</source>
        <translation>STUN- und TURN-Server</translation>
    </message>
    <message>
        <source>Finding me</source>
        <translation>Mich finden</translation>
    </message>
    <message>
        <source>While this is on, anyone who knows your three words can send you a contact request (you decide whether to accept). Turn it off once your contacts have added you: nobody can look you up then, and you keep talking to everyone you know.</source>
        <translation>Solange das an ist, kann dir jede Person, die deine drei Wörter kennt, eine Kontaktanfrage senden (du entscheidest, ob du sie annimmst). Schalte es aus, sobald deine Kontakte dich hinzugefügt haben: Dann kann dich niemand mehr suchen, und du schreibst weiter mit allen, die du kennst.</translation>
    </message>
    <message>
        <source>Let people find me by my three words</source>
        <translation>Mich über meine drei Wörter finden lassen</translation>
    </message>
    <message>
        <source>Files</source>
        <translation>Dateien</translation>
    </message>
    <message>
        <source>Files from your contacts wait for you to accept them, unless you allow them here. Larger files are always declined.</source>
        <translation>Dateien von deinen Kontakten warten, bis du sie annimmst, außer du erlaubst es hier. Größere Dateien werden immer abgelehnt.</translation>
    </message>
    <message>
        <source>Accept files from my contacts automatically</source>
        <translation>Dateien meiner Kontakte automatisch annehmen</translation>
    </message>
    <message>
        <source> MB</source>
        <translation> MB</translation>
    </message>
    <message>
        <source>Largest file accepted, in megabytes</source>
        <translation>Größte angenommene Datei in Megabyte</translation>
    </message>
    <message>
        <source>Largest file to accept</source>
        <translation>Größte Datei, die angenommen wird</translation>
    </message>
    <message>
        <source>Notifications</source>
        <translation>Benachrichtigungen</translation>
    </message>
    <message>
        <source>Notifications can appear on the lock screen and in screen shares. Show less if other people can see your screen.</source>
        <translation>Benachrichtigungen können auf dem Sperrbildschirm und beim Bildschirmteilen erscheinen. Zeig weniger, wenn andere deinen Bildschirm sehen können.</translation>
    </message>
    <message>
        <source>What a notification shows</source>
        <translation>Was eine Benachrichtigung zeigt</translation>
    </message>
    <message>
        <source>Who wrote, not the message (recommended)</source>
        <translation>Wer geschrieben hat, nicht die Nachricht (empfohlen)</translation>
    </message>
    <message>
        <source>Who wrote and the message</source>
        <translation>Wer geschrieben hat und die Nachricht</translation>
    </message>
    <message>
        <source>Only “New message”</source>
        <translation>Nur „Neue Nachricht“</translation>
    </message>
    <message>
        <source>No notifications</source>
        <translation>Keine Benachrichtigungen</translation>
    </message>
    <message>
        <source>When a message arrives, show:</source>
        <translation>Wenn eine Nachricht ankommt, zeigen:</translation>
    </message>
    <message>
        <source>Save</source>
        <translation>Speichern</translation>
    </message>
    <message>
        <source>Saving…</source>
        <translation>Wird gespeichert…</translation>
    </message>
    <message>
        <source>Saved.</source>
        <translation>Gespeichert.</translation>
    </message>
    <message>
        <source>How Libra looks. Changes are saved at once.</source>
        <translation>Wie Libra aussieht. Änderungen werden sofort gespeichert.</translation>
    </message>
    <message>
        <source>Theme</source>
        <translation>Design</translation>
    </message>
    <message>
        <source>The theme changes immediately.</source>
        <translation>Das Design ändert sich sofort.</translation>
    </message>
    <message>
        <source>Same as the system</source>
        <translation>Wie im System</translation>
    </message>
    <message>
        <source>Light</source>
        <translation>Hell</translation>
    </message>
    <message>
        <source>Dark</source>
        <translation>Dunkel</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>Sprache</translation>
    </message>
    <message>
        <source>Libra shows the new language the next time you open it. Until your profile is unlocked, Libra follows the system&apos;s language.</source>
        <translation>Libra zeigt die neue Sprache, wenn du es das nächste Mal öffnest. Bis dein Profil entsperrt ist, folgt Libra der Sprache des Systems.</translation>
    </message>
    <message>
        <source>Saved. Libra will be in %1 the next time you open it.</source>
        <translation>Gespeichert. Beim nächsten Öffnen ist Libra auf %1.</translation>
    </message>
    <message>
        <source>Your passphrase encrypts everything Libra keeps on this computer: messages, contacts and keys. Nobody can recover a forgotten passphrase, not even us.</source>
        <translation>Deine Passphrase verschlüsselt alles, was Libra auf diesem Computer speichert: Nachrichten, Kontakte und Schlüssel. Niemand kann eine vergessene Passphrase wiederherstellen, auch wir nicht.</translation>
    </message>
    <message>
        <source>Change passphrase</source>
        <translation>Passphrase ändern</translation>
    </message>
    <message>
        <source>Libra re-encrypts your profile with the new passphrase; this takes a few seconds. Use the new one the next time you open Libra.</source>
        <translation>Libra verschlüsselt dein Profil mit der neuen Passphrase neu; das dauert ein paar Sekunden. Verwende die neue, wenn du Libra das nächste Mal öffnest.</translation>
    </message>
    <message>
        <source>Current passphrase</source>
        <translation>Aktuelle Passphrase</translation>
    </message>
    <message>
        <source>New passphrase</source>
        <translation>Neue Passphrase</translation>
    </message>
    <message>
        <source>Repeat the new passphrase</source>
        <translation>Neue Passphrase wiederholen</translation>
    </message>
    <message>
        <source>Backup</source>
        <translation>Sicherung</translation>
    </message>
    <message>
        <source>Copies your profile into a new, empty folder — for example on a USB stick. The copy stays encrypted with your passphrase. Restoring an old backup brings back its older state, so make backups often.</source>
        <translation>Kopiert dein Profil in einen neuen, leeren Ordner – zum Beispiel auf einem USB-Stick. Die Kopie bleibt mit deiner Passphrase verschlüsselt. Eine alte Sicherung bringt beim Wiederherstellen ihren älteren Stand zurück, also sichere oft.</translation>
    </message>
    <message>
        <source>Make a backup…</source>
        <translation>Sicherung erstellen…</translation>
    </message>
    <message>
        <source>Choose a new, empty folder for the backup</source>
        <translation>Einen neuen, leeren Ordner für die Sicherung wählen</translation>
    </message>
    <message>
        <source>The passphrases match.</source>
        <translation>Die Passphrasen stimmen überein.</translation>
    </message>
    <message>
        <source>The passphrases are different.</source>
        <translation>Die Passphrasen sind verschieden.</translation>
    </message>
    <message>
        <source>Re-encrypting your profile… This takes a few seconds.</source>
        <translation>Dein Profil wird neu verschlüsselt… Das dauert ein paar Sekunden.</translation>
    </message>
    <message>
        <source>Making the backup…</source>
        <translation>Sicherung wird erstellt…</translation>
    </message>
    <message>
        <source>Backup saved in %1.</source>
        <translation>Sicherung gespeichert in %1.</translation>
    </message>
    <message>
        <source>Your passphrase was changed. Use the new one the next time you open Libra.</source>
        <translation>Deine Passphrase wurde geändert. Verwende die neue, wenn du Libra das nächste Mal öffnest.</translation>
    </message>
    <message>
        <source>Unsaved changes</source>
        <translation>Nicht gespeicherte Änderungen</translation>
    </message>
    <message>
        <source>You changed settings without saving them.</source>
        <translation>Du hast Einstellungen geändert, ohne sie zu speichern.</translation>
    </message>
    <message>
        <source>Close and forget these changes?</source>
        <translation>Schließen und diese Änderungen verwerfen?</translation>
    </message>
    <message>
        <source>Forget changes</source>
        <translation>Änderungen verwerfen</translation>
    </message>
    <message>
        <source>Keep editing</source>
        <translation>Weiter bearbeiten</translation>
    </message>
</context>
<context>
    <name>States</name>
    <message>
        <source>Offline: messages wait until the contact is reachable</source>
        <translation>Offline: Nachrichten warten, bis der Kontakt erreichbar ist</translation>
    </message>
    <message>
        <source>Connected through Tor</source>
        <translation>Über Tor verbunden</translation>
    </message>
    <message>
        <source>Connected through Tor, trying a direct connection</source>
        <translation>Über Tor verbunden, Direktverbindung wird versucht</translation>
    </message>
    <message>
        <source>Connected directly (faster; your contact can see your IP address)</source>
        <translation>Direkt verbunden (schneller; dein Kontakt kann deine IP-Adresse sehen)</translation>
    </message>
    <message>
        <source>Connected through Tor (a direct connection was not possible)</source>
        <translation>Über Tor verbunden (eine Direktverbindung war nicht möglich)</translation>
    </message>
    <message>
        <source>offline</source>
        <translation>offline</translation>
    </message>
    <message>
        <source>via Tor</source>
        <translation>über Tor</translation>
    </message>
    <message>
        <source>connecting directly…</source>
        <translation>verbindet direkt…</translation>
    </message>
    <message>
        <source>direct</source>
        <translation>direkt</translation>
    </message>
    <message>
        <source>via Tor (fallback)</source>
        <translation>über Tor (Ausweichweg)</translation>
    </message>
    <message>
        <source>Not verified</source>
        <translation>Nicht verifiziert</translation>
    </message>
    <message>
        <source>Not verified yet</source>
        <translation>Noch nicht verifiziert</translation>
    </message>
    <message>
        <source>Verified</source>
        <translation>Verifiziert</translation>
    </message>
    <message>
        <source>Trusted</source>
        <translation>Vertraut</translation>
    </message>
    <message>
        <source>Waiting to be sent</source>
        <translation>Wartet auf Versand</translation>
    </message>
    <message>
        <source>Sent</source>
        <translation>Gesendet</translation>
    </message>
    <message>
        <source>Delivered</source>
        <translation>Zugestellt</translation>
    </message>
    <message>
        <source>Received</source>
        <translation>Empfangen</translation>
    </message>
    <message>
        <source>Connecting to Tor… %1%</source>
        <translation>Verbindung mit Tor… %1 %</translation>
    </message>
    <message>
        <source>Not connected</source>
        <translation>Nicht verbunden</translation>
    </message>
    <message>
        <source>Starting Tor…</source>
        <translation>Tor wird gestartet…</translation>
    </message>
    <message>
        <source>Connected to Tor</source>
        <translation>Mit Tor verbunden</translation>
    </message>
    <message>
        <source>Tor stopped; restarting…</source>
        <translation>Tor wurde beendet; Neustart…</translation>
    </message>
    <message>
        <source>Not connected: Tor could not start</source>
        <translation>Nicht verbunden: Tor konnte nicht starten</translation>
    </message>
    <message>
        <source>Tor stopped</source>
        <translation>Tor beendet</translation>
    </message>
    <message>
        <source>1 unread message</source>
        <translation>1 ungelesene Nachricht</translation>
    </message>
    <message>
        <source>%1 unread messages</source>
        <translation>%1 ungelesene Nachrichten</translation>
    </message>
    <message>
        <source>Today</source>
        <translation>Heute</translation>
    </message>
    <message>
        <source>Yesterday</source>
        <translation>Gestern</translation>
    </message>
    <message>
        <source>You have not checked that this is really them.</source>
        <translation>Du hast noch nicht geprüft, dass es wirklich diese Person ist.</translation>
    </message>
    <message>
        <source>You have not checked that this is really them. Compare safety numbers or ask a question only they can answer.</source>
        <translation>Du hast noch nicht geprüft, dass es wirklich diese Person ist. Vergleicht eure Sicherheitsnummern oder stell eine Frage, die nur sie beantworten kann.</translation>
    </message>
    <message>
        <source>You checked that this is really them: nobody is in the middle.</source>
        <translation>Du hast geprüft, dass es wirklich diese Person ist: Niemand ist dazwischen.</translation>
    </message>
    <message>
        <source>Verified, and you trust this person (for example, for direct connections).</source>
        <translation>Verifiziert, und du vertraust dieser Person (zum Beispiel für Direktverbindungen).</translation>
    </message>
    <message>
        <source>Allowed with this contact</source>
        <translation>Mit diesem Kontakt erlaubt</translation>
    </message>
    <message>
        <source>Never: always through Tor</source>
        <translation>Nie: immer über Tor</translation>
    </message>
    <message>
        <source>Automatic (all contacts)</source>
        <translation>Automatisch (alle Kontakte)</translation>
    </message>
    <message>
        <source>Automatic (off for everyone)</source>
        <translation>Automatisch (für alle aus)</translation>
    </message>
    <message>
        <source>Automatic (verified contacts only)</source>
        <translation>Automatisch (nur verifizierte Kontakte)</translation>
    </message>
    <message>
        <source>A direct connection is faster, but it shows your IP address (and so roughly where you are) to this contact, and to any STUN/TURN server you set up. When it is off, everything goes through Tor and nobody learns your IP address.</source>
        <translation>Eine Direktverbindung ist schneller, zeigt aber deine IP-Adresse (und damit ungefähr, wo du bist) diesem Kontakt und jedem STUN/TURN-Server, den du eingerichtet hast. Ist sie aus, geht alles über Tor und niemand erfährt deine IP-Adresse.</translation>
    </message>
    <message>
        <source>%1 bytes</source>
        <translation>%1 Bytes</translation>
    </message>
    <message>
        <source>Waiting for %1 to accept</source>
        <translation>Wartet darauf, dass %1 annimmt</translation>
    </message>
    <message>
        <source>Accept to download it</source>
        <translation>Annehmen, um sie herunterzuladen</translation>
    </message>
    <message>
        <source>Waiting for the connection… %1%</source>
        <translation>Wartet auf die Verbindung… %1 %</translation>
    </message>
    <message>
        <source>Sending… %1%</source>
        <translation>Wird gesendet… %1 %</translation>
    </message>
    <message>
        <source>Downloading… %1%</source>
        <translation>Wird heruntergeladen… %1 %</translation>
    </message>
    <message>
        <source>Cancelled by %1</source>
        <translation>Abgebrochen von %1</translation>
    </message>
    <message>
        <source>Declined: too large for the space left</source>
        <translation>Abgelehnt: zu groß für den freien Speicherplatz</translation>
    </message>
    <message>
        <source>Cancelled</source>
        <translation>Abgebrochen</translation>
    </message>
    <message>
        <source>Failed: send it again</source>
        <translation>Fehlgeschlagen: noch einmal senden</translation>
    </message>
    <message>
        <source>Failed: ask %1 to send it again</source>
        <translation>Fehlgeschlagen: Bitte %1, sie noch einmal zu senden</translation>
    </message>
</context>
<context>
    <name>StrengthMeter</name>
    <message>
        <source>Use at least %1 characters.</source>
        <translation>Verwende mindestens %1 Zeichen.</translation>
    </message>
    <message>
        <source>Very weak: this is easy to guess. Add a few unusual words.</source>
        <translation>Sehr schwach: leicht zu erraten. Füge ein paar ungewöhnliche Wörter hinzu.</translation>
    </message>
    <message>
        <source>Weak: add another word or two.</source>
        <translation>Schwach: Füge noch ein, zwei Wörter hinzu.</translation>
    </message>
    <message>
        <source>Fair. Longer is better: add another word.</source>
        <translation>Mittel. Länger ist besser: Füge noch ein Wort hinzu.</translation>
    </message>
    <message>
        <source>Strong.</source>
        <translation>Stark.</translation>
    </message>
    <message>
        <source>Very strong.</source>
        <translation>Sehr stark.</translation>
    </message>
</context>
<context>
    <name>TorPanel</name>
    <message>
        <source>Tor connection</source>
        <translation>Tor-Verbindung</translation>
    </message>
    <message>
        <source>Libra sends everything through the Tor network, which hides your IP address from your contacts and from anyone watching. You can write messages while Tor connects: they are sent as soon as it is ready.</source>
        <translation>Libra sendet alles über das Tor-Netzwerk, das deine IP-Adresse vor deinen Kontakten und vor allen Beobachtern verbirgt. Du kannst schreiben, während Tor sich verbindet: Die Nachrichten werden gesendet, sobald es bereit ist.</translation>
    </message>
    <message>
        <source>Mode</source>
        <translation>Modus</translation>
    </message>
    <message>
        <source>Tor program</source>
        <translation>Tor-Programm</translation>
    </message>
    <message>
        <source>Bridges</source>
        <translation>Brücken</translation>
    </message>
    <message>
        <source>Choose Tor program…</source>
        <translation>Tor-Programm wählen…</translation>
    </message>
    <message>
        <source>Bridges…</source>
        <translation>Brücken…</translation>
    </message>
    <message>
        <source>Reconnect</source>
        <translation>Neu verbinden</translation>
    </message>
    <message>
        <source>All Tor settings…</source>
        <translation>Alle Tor-Einstellungen…</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>Schließen</translation>
    </message>
    <message>
        <source>Using a Tor you run yourself (%1)</source>
        <translation>Ein Tor, das du selbst betreibst (%1)</translation>
    </message>
    <message>
        <source>Libra runs the Tor installed on this computer</source>
        <translation>Libra startet das auf diesem Computer installierte Tor</translation>
    </message>
    <message>
        <source>Libra runs the Tor program you chose</source>
        <translation>Libra startet das von dir gewählte Tor-Programm</translation>
    </message>
    <message>
        <source>Libra runs its own Tor</source>
        <translation>Libra startet sein eigenes Tor</translation>
    </message>
    <message>
        <source>not found</source>
        <translation>nicht gefunden</translation>
    </message>
    <message>
        <source>%1 configured</source>
        <translation>%1 eingerichtet</translation>
    </message>
    <message>
        <source>none (other extra settings in use)</source>
        <translation>keine (andere zusätzliche Einstellungen aktiv)</translation>
    </message>
    <message>
        <source>none</source>
        <translation>keine</translation>
    </message>
    <message>
        <source>Choose the Tor program</source>
        <translation>Wähle das Tor-Programm</translation>
    </message>
</context>
<context>
    <name>TorStatusItem</name>
    <message>
        <source>Details</source>
        <translation>Details</translation>
    </message>
    <message>
        <source>Tor connection: %1</source>
        <translation>Tor-Verbindung: %1</translation>
    </message>
    <message>
        <source>How to fix…</source>
        <translation>So behebst du es…</translation>
    </message>
</context>
<context>
    <name>Tray</name>
    <message>
        <source>Open Libra</source>
        <translation>Libra öffnen</translation>
    </message>
    <message>
        <source>Quit Libra</source>
        <translation>Libra beenden</translation>
    </message>
    <message>
        <source>Libra: %1 unread</source>
        <translation>Libra: %1 ungelesen</translation>
    </message>
    <message>
        <source>Libra</source>
        <translation>Libra</translation>
    </message>
</context>
<context>
    <name>UnlockDialog</name>
    <message>
        <source>Unlock Libra</source>
        <translation>Libra entsperren</translation>
    </message>
    <message>
        <source>Type your passphrase to open your messages.</source>
        <translation>Gib deine Passphrase ein, um deine Nachrichten zu öffnen.</translation>
    </message>
    <message>
        <source>Passphrase</source>
        <translation>Passphrase</translation>
    </message>
    <message>
        <source>Unlock</source>
        <translation>Entsperren</translation>
    </message>
    <message>
        <source>Profile folder: %1</source>
        <translation>Profilordner: %1</translation>
    </message>
    <message>
        <source>Unlocking…</source>
        <translation>Wird entsperrt…</translation>
    </message>
</context>
<context>
    <name>UserMessages</name>
    <message>
        <source>Wrong passphrase</source>
        <translation>Falsche Passphrase</translation>
    </message>
    <message>
        <source>That passphrase does not unlock this profile. Check Caps Lock and the keyboard layout, then try again.</source>
        <translation>Diese Passphrase entsperrt dieses Profil nicht. Prüfe die Feststelltaste und das Tastaturlayout und versuch es erneut.</translation>
    </message>
    <message>
        <source>Libra is already open</source>
        <translation>Libra ist bereits geöffnet</translation>
    </message>
    <message>
        <source>This profile is open in another Libra window or in libra-cli. Close it there, then try again.</source>
        <translation>Dieses Profil ist in einem anderen Libra-Fenster oder in libra-cli geöffnet. Schließ es dort und versuch es erneut.</translation>
    </message>
    <message>
        <source>No profile in this folder</source>
        <translation>Kein Profil in diesem Ordner</translation>
    </message>
    <message>
        <source>There is no Libra profile here. Choose another folder, or create a profile.</source>
        <translation>Hier ist kein Libra-Profil. Wähle einen anderen Ordner oder erstelle ein Profil.</translation>
    </message>
    <message>
        <source>A profile already exists</source>
        <translation>Es gibt bereits ein Profil</translation>
    </message>
    <message>
        <source>This folder already holds a Libra profile. Unlock it instead, or start Libra with another folder.</source>
        <translation>Dieser Ordner enthält bereits ein Libra-Profil. Entsperre es stattdessen oder starte Libra mit einem anderen Ordner.</translation>
    </message>
    <message>
        <source>This is not a Libra backup</source>
        <translation>Das ist keine Libra-Sicherung</translation>
    </message>
    <message>
        <source>The folder you chose holds no Libra profile. Choose the folder that was made with “Make a backup” (it contains profile.db and profile.hdr).</source>
        <translation>Der gewählte Ordner enthält kein Libra-Profil. Wähle den Ordner, der mit „Sicherung erstellen“ angelegt wurde (er enthält profile.db und profile.hdr).</translation>
    </message>
    <message>
        <source>Choose an empty folder</source>
        <translation>Wähle einen leeren Ordner</translation>
    </message>
    <message>
        <source>A backup goes into a new or empty folder, so it is never mixed with other files. Create a new folder and choose it.</source>
        <translation>Eine Sicherung kommt in einen neuen oder leeren Ordner, damit sie nie mit anderen Dateien vermischt wird. Lege einen neuen Ordner an und wähle ihn.</translation>
    </message>
    <message>
        <source>The profile cannot be read</source>
        <translation>Das Profil kann nicht gelesen werden</translation>
    </message>
    <message>
        <source>Its files are damaged or were written by a newer Libra. Update Libra; if that does not help, restore the profile folder from a backup.</source>
        <translation>Seine Dateien sind beschädigt oder wurden von einem neueren Libra geschrieben. Aktualisiere Libra; hilft das nicht, stelle den Profilordner aus einer Sicherung wieder her.</translation>
    </message>
    <message>
        <source>Libra could not save</source>
        <translation>Libra konnte nicht speichern</translation>
    </message>
    <message>
        <source>Reading or writing your profile failed. Check that the disk is not full and the folder is writable, then try again.</source>
        <translation>Dein Profil konnte nicht gelesen oder geschrieben werden. Prüfe, ob der Datenträger voll ist und der Ordner beschreibbar ist, und versuch es erneut.</translation>
    </message>
    <message>
        <source>Tor was not found</source>
        <translation>Tor wurde nicht gefunden</translation>
    </message>
    <message>
        <source>Libra needs the Tor program to reach your contacts privately. Choose the Tor program, or reinstall Libra (its installer includes Tor).</source>
        <translation>Libra braucht das Tor-Programm, um deine Kontakte privat zu erreichen. Wähle das Tor-Programm oder installiere Libra neu (der Installer enthält Tor).</translation>
    </message>
    <message>
        <source>Tor refused a setting</source>
        <translation>Tor hat eine Einstellung abgelehnt</translation>
    </message>
    <message>
        <source>One of your bridge or extra Tor lines is not valid. Correct or remove it, then try again.</source>
        <translation>Eine deiner Brücken- oder zusätzlichen Tor-Zeilen ist ungültig. Korrigiere oder entferne sie und versuch es erneut.</translation>
    </message>
    <message>
        <source>Tor cannot reach the Tor network</source>
        <translation>Tor erreicht das Tor-Netzwerk nicht</translation>
    </message>
    <message>
        <source>Check your internet connection and try again. If Tor is blocked where you are, add bridges.</source>
        <translation>Prüfe deine Internetverbindung und versuch es erneut. Wenn Tor bei dir blockiert ist, füge Brücken hinzu.</translation>
    </message>
    <message>
        <source>Tor stopped working</source>
        <translation>Tor funktioniert nicht mehr</translation>
    </message>
    <message>
        <source>Libra could not run Tor. Try again; if it keeps failing, choose another Tor program.</source>
        <translation>Libra konnte Tor nicht ausführen. Versuch es erneut; schlägt es weiter fehl, wähle ein anderes Tor-Programm.</translation>
    </message>
    <message>
        <source>Not connected yet</source>
        <translation>Noch nicht verbunden</translation>
    </message>
    <message>
        <source>Wait until Libra is connected to Tor (see the status bar), then try again.</source>
        <translation>Warte, bis Libra mit Tor verbunden ist (siehe Statusleiste), und versuch es dann erneut.</translation>
    </message>
    <message>
        <source>Safety warning: keys changed</source>
        <translation>Sicherheitswarnung: Schlüssel geändert</translation>
    </message>
    <message>
        <source>This contact now presents different keys. Their new keys are not used until you verify the contact again and accept them.</source>
        <translation>Dieser Kontakt zeigt jetzt andere Schlüssel. Die neuen Schlüssel werden erst verwendet, wenn du den Kontakt erneut verifizierst und sie annimmst.</translation>
    </message>
    <message>
        <source>Contact not changed</source>
        <translation>Kontakt nicht geändert</translation>
    </message>
    <message>
        <source>Libra could not do that with this contact.</source>
        <translation>Libra konnte das mit diesem Kontakt nicht tun.</translation>
    </message>
    <message>
        <source>Contact not found</source>
        <translation>Kontakt nicht gefunden</translation>
    </message>
    <message>
        <source>This contact no longer exists. Choose another one.</source>
        <translation>Diesen Kontakt gibt es nicht mehr. Wähle einen anderen.</translation>
    </message>
    <message>
        <source>Update Libra</source>
        <translation>Libra aktualisieren</translation>
    </message>
    <message>
        <source>This invite was made by a newer Libra. Update Libra, then try again.</source>
        <translation>Diese Einladung stammt von einem neueren Libra. Aktualisiere Libra und versuch es erneut.</translation>
    </message>
    <message>
        <source>Not a valid invite</source>
        <translation>Keine gültige Einladung</translation>
    </message>
    <message>
        <source>The invite link or code is damaged. Ask your contact to send it again.</source>
        <translation>Der Einladungslink oder -code ist beschädigt. Bitte deinen Kontakt, ihn erneut zu senden.</translation>
    </message>
    <message>
        <source>No invite in this image</source>
        <translation>Keine Einladung in diesem Bild</translation>
    </message>
    <message>
        <source>Libra could not read a Libra QR code from it. Try a sharper, complete image.</source>
        <translation>Libra konnte darin keinen Libra-QR-Code lesen. Versuch es mit einem schärferen, vollständigen Bild.</translation>
    </message>
    <message>
        <source>Check the words</source>
        <translation>Prüfe die Wörter</translation>
    </message>
    <message>
        <source>An alias is three words from Libra&apos;s word list, like amber-falcon-canyon. Check the spelling with your contact.</source>
        <translation>Ein Alias besteht aus drei Wörtern aus Libras Wortliste, wie amber-falcon-canyon. Prüfe die Schreibweise mit deinem Kontakt.</translation>
    </message>
    <message>
        <source>Nobody found with these words</source>
        <translation>Niemand mit diesen Wörtern gefunden</translation>
    </message>
    <message>
        <source>Check the words, and ask your contact to turn on “Let people find me”. A private alias is found only with its invite link or QR code.</source>
        <translation>Prüfe die Wörter und bitte deinen Kontakt, „Mich finden lassen“ einzuschalten. Ein privater Alias ist nur über seinen Einladungslink oder QR-Code zu finden.</translation>
    </message>
    <message>
        <source>Not the right person</source>
        <translation>Nicht die richtige Person</translation>
    </message>
    <message>
        <source>Whoever answered is not the owner of these words, so nothing was sent. Ask your contact for their invite link or QR code instead.</source>
        <translation>Wer geantwortet hat, besitzt diese Wörter nicht, daher wurde nichts gesendet. Bitte deinen Kontakt stattdessen um den Einladungslink oder QR-Code.</translation>
    </message>
    <message>
        <source>Request not taken</source>
        <translation>Anfrage nicht angenommen</translation>
    </message>
    <message>
        <source>Your contact&apos;s Libra did not take the request (the details say why). Try again later, or ask your contact for a new invite.</source>
        <translation>Das Libra deines Kontakts hat die Anfrage nicht angenommen (die Details sagen, warum). Versuch es später erneut oder bitte um eine neue Einladung.</translation>
    </message>
    <message>
        <source>Could not reach them</source>
        <translation>Nicht erreichbar</translation>
    </message>
    <message>
        <source>The connection over Tor broke off. Check that Libra is connected (status bar), then try again.</source>
        <translation>Die Verbindung über Tor ist abgebrochen. Prüfe, ob Libra verbunden ist (Statusleiste), und versuch es erneut.</translation>
    </message>
    <message>
        <source>Search again</source>
        <translation>Erneut suchen</translation>
    </message>
    <message>
        <source>Too much time has passed since the search. Search again, then send.</source>
        <translation>Seit der Suche ist zu viel Zeit vergangen. Such erneut und sende dann.</translation>
    </message>
    <message>
        <source>Your contact is not connected</source>
        <translation>Dein Kontakt ist nicht verbunden</translation>
    </message>
    <message>
        <source>This works only while your contact is online (their dot is purple or green). Try again when they are.</source>
        <translation>Das geht nur, während dein Kontakt online ist (sein Punkt ist lila oder grün). Versuch es dann erneut.</translation>
    </message>
    <message>
        <source>Trust not changed</source>
        <translation>Vertrauen nicht geändert</translation>
    </message>
    <message>
        <source>Trust goes up one step at a time, and not while a key change waits for your decision. The details say what is missing.</source>
        <translation>Vertrauen steigt nur Stufe für Stufe und nicht, solange eine Schlüsseländerung auf deine Entscheidung wartet. Die Details sagen, was fehlt.</translation>
    </message>
    <message>
        <source>Setting not changed</source>
        <translation>Einstellung nicht geändert</translation>
    </message>
    <message>
        <source>Libra cannot use that value; the details say why.</source>
        <translation>Libra kann diesen Wert nicht verwenden; die Details sagen, warum.</translation>
    </message>
    <message>
        <source>The file changed</source>
        <translation>Die Datei hat sich geändert</translation>
    </message>
    <message>
        <source>The file was changed, moved or deleted before it was sent completely. Send it again.</source>
        <translation>Die Datei wurde geändert, verschoben oder gelöscht, bevor sie vollständig gesendet war. Sende sie erneut.</translation>
    </message>
    <message>
        <source>Cannot read this file</source>
        <translation>Diese Datei kann nicht gelesen werden</translation>
    </message>
    <message>
        <source>Check that the file exists and that you may open it, then try again.</source>
        <translation>Prüfe, ob die Datei existiert und du sie öffnen darfst, und versuch es erneut.</translation>
    </message>
    <message>
        <source>File too large</source>
        <translation>Datei zu groß</translation>
    </message>
    <message>
        <source>The file is larger than Libra allows. Share a smaller file, or split it.</source>
        <translation>Die Datei ist größer, als Libra erlaubt. Teile eine kleinere Datei oder teile sie auf.</translation>
    </message>
    <message>
        <source>Not enough disk space</source>
        <translation>Nicht genug Speicherplatz</translation>
    </message>
    <message>
        <source>Free some space on this computer, then accept the file again.</source>
        <translation>Schaffe etwas Platz auf diesem Computer und nimm die Datei dann erneut an.</translation>
    </message>
    <message>
        <source>Could not save the file</source>
        <translation>Die Datei konnte nicht gespeichert werden</translation>
    </message>
    <message>
        <source>Choose another folder: one you may write to, on a disk with free space.</source>
        <translation>Wähle einen anderen Ordner: einen, in den du schreiben darfst, auf einem Datenträger mit freiem Platz.</translation>
    </message>
    <message>
        <source>Not possible any more</source>
        <translation>Nicht mehr möglich</translation>
    </message>
    <message>
        <source>The file transfer has moved on (it finished or was cancelled). See the file in the chat.</source>
        <translation>Die Dateiübertragung ist schon weiter (abgeschlossen oder abgebrochen). Sieh dir die Datei im Chat an.</translation>
    </message>
    <message>
        <source>File transfer problem</source>
        <translation>Problem bei der Dateiübertragung</translation>
    </message>
    <message>
        <source>The details below say why. Try again.</source>
        <translation>Die Details unten sagen, warum. Versuch es erneut.</translation>
    </message>
    <message>
        <source>Not a Libra invite</source>
        <translation>Keine Libra-Einladung</translation>
    </message>
    <message>
        <source>This QR code holds something else. Ask your contact to show the code from “My alias” in Libra.</source>
        <translation>Dieser QR-Code enthält etwas anderes. Bitte deinen Kontakt, den Code aus „Mein Alias“ in Libra zu zeigen.</translation>
    </message>
    <message>
        <source>Not a valid contact card</source>
        <translation>Keine gültige Kontaktkarte</translation>
    </message>
    <message>
        <source>The card is damaged or was changed. Ask your contact to send it again.</source>
        <translation>Die Karte ist beschädigt oder wurde verändert. Bitte deinen Kontakt, sie erneut zu senden.</translation>
    </message>
    <message>
        <source>Libra cannot accept this</source>
        <translation>Libra kann das nicht annehmen</translation>
    </message>
    <message>
        <source>Correct what the details below describe, then try again.</source>
        <translation>Korrigiere, was die Details unten beschreiben, und versuch es erneut.</translation>
    </message>
    <message>
        <source>Check the bridge lines</source>
        <translation>Prüfe die Brücken-Zeilen</translation>
    </message>
    <message>
        <source>A bridge line is incomplete or not valid (the details say which). Copy the lines again exactly as you got them, one bridge per line, or remove that line.</source>
        <translation>Eine Brücken-Zeile ist unvollständig oder ungültig (die Details sagen, welche). Kopiere die Zeilen noch einmal genau so, wie du sie bekommen hast, eine Brücke pro Zeile, oder entferne diese Zeile.</translation>
    </message>
    <message>
        <source>These bridges cannot be used here</source>
        <translation>Diese Brücken können hier nicht verwendet werden</translation>
    </message>
    <message>
        <source>The program for this kind of bridge is missing. Reinstall Libra, or get bridges of another kind (obfs4 or snowflake).</source>
        <translation>Das Programm für diese Art von Brücke fehlt. Installiere Libra neu oder hol dir Brücken einer anderen Art (obfs4 oder snowflake).</translation>
    </message>
    <message>
        <source>Check the extra Tor settings</source>
        <translation>Prüfe die zusätzlichen Tor-Einstellungen</translation>
    </message>
    <message>
        <source>One of the extra Tor settings cannot be used (the details say which and why). Correct or remove it, then save again.</source>
        <translation>Eine der zusätzlichen Tor-Einstellungen kann nicht verwendet werden (die Details sagen, welche und warum). Korrigiere oder entferne sie und speichere erneut.</translation>
    </message>
    <message>
        <source>Check how Libra reaches Tor</source>
        <translation>Prüfe, wie Libra Tor erreicht</translation>
    </message>
    <message>
        <source>Choose the Tor program file or enter the running Tor&apos;s control port, or switch back to the Tor that comes with Libra.</source>
        <translation>Wähle die Datei des Tor-Programms, gib den Steuerport des laufenden Tors ein oder wechsle zurück zu dem Tor, das mit Libra kommt.</translation>
    </message>
    <message>
        <source>Passphrase too short</source>
        <translation>Passphrase zu kurz</translation>
    </message>
    <message>
        <source>Use at least 8 characters. Four or more random words are strong and easy to remember.</source>
        <translation>Verwende mindestens 8 Zeichen. Vier oder mehr zufällige Wörter sind stark und leicht zu merken.</translation>
    </message>
    <message>
        <source>Setting not saved</source>
        <translation>Einstellung nicht gespeichert</translation>
    </message>
    <message>
        <source>Correct what the details below describe, then save again.</source>
        <translation>Korrigiere, was die Details unten beschreiben, und speichere erneut.</translation>
    </message>
    <message>
        <source>Libra is closing</source>
        <translation>Libra wird beendet</translation>
    </message>
    <message>
        <source>Start Libra again to continue.</source>
        <translation>Starte Libra erneut, um weiterzumachen.</translation>
    </message>
    <message>
        <source>Profile locked</source>
        <translation>Profil gesperrt</translation>
    </message>
    <message>
        <source>Unlock your profile first.</source>
        <translation>Entsperre zuerst dein Profil.</translation>
    </message>
    <message>
        <source>That did not work</source>
        <translation>Das hat nicht geklappt</translation>
    </message>
    <message>
        <source>Something went wrong</source>
        <translation>Etwas ist schiefgelaufen</translation>
    </message>
    <message>
        <source>This is a bug in Libra, not something you did. Restart Libra; if it happens again, please report it.</source>
        <translation>Das ist ein Fehler in Libra, nicht in dem, was du getan hast. Starte Libra neu; passiert es wieder, melde es bitte.</translation>
    </message>
</context>
</TS>
