/**
 * Reading the form's number fields. A bad value throws a FieldError naming its field, so the page can
 * mark that field invalid, point it at the message and move the focus to it.
 */

export class FieldError extends Error {
  constructor(
    readonly field: HTMLElement,
    message: string,
  ) {
    super(message);
  }
}

export function intField(input: HTMLInputElement, name: string, min: number, max: number): number {
  const v = Number(input.value);
  if (input.value.trim() === '' || !Number.isInteger(v) || v < min || v > max) throw new FieldError(input, `${name} must be a whole number from ${min} to ${max}`);
  return v;
}

/** A whole number, or undefined when the field is left empty. */
export function optionalIntField(input: HTMLInputElement, name: string, min: number, max: number): number | undefined {
  return input.value.trim() === '' ? undefined : intField(input, name, min, max);
}

export function numberField(input: HTMLInputElement, name: string, min: number, max: number): number {
  const v = Number(input.value);
  if (input.value.trim() === '' || !Number.isFinite(v) || v < min || v > max) throw new FieldError(input, `${name} must be a number from ${min} to ${max}`);
  return v;
}

/** Marks `field` invalid, described by the element `messageId`, and focuses it. */
export function showFieldError(field: HTMLElement, messageId: string): void {
  field.setAttribute('aria-invalid', 'true');
  field.setAttribute('aria-describedby', messageId);
  field.addEventListener('input', () => clearFieldError(field), { once: true });
  field.addEventListener('change', () => clearFieldError(field), { once: true });
  field.focus();
}

export function clearFieldError(field: HTMLElement): void {
  field.removeAttribute('aria-invalid');
  field.removeAttribute('aria-describedby');
}

export function clearAllFieldErrors(root: ParentNode): void {
  for (const f of root.querySelectorAll<HTMLElement>('[aria-invalid="true"]')) clearFieldError(f);
}
