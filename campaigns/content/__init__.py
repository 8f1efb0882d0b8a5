"""What a message says: templates, their sandboxed rendering, and what an approver is shown.

Holds templates (create, change, read, preview for a real contact), rendering (sandboxed Jinja, checked
when saved, rendered per message, HTML turned into text), budget (the sandbox's work budget: how big a
value may grow and how long a render may run) and approval_samples (each variant rendered as the channel
sends it, for the approver).

Offers the others: render and check functions, TemplateInvalid / RenderFailed, the template functions.
It reads link tracking from responses (a tracked SMS is counted as sent) and never imports delivery or results.
"""
