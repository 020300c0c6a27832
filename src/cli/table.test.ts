import { describe, expect, it } from 'vitest';
import { renderTable } from './table.js';

describe('renderTable', () => {
  it('pads every column but the last to its widest cell', () => {
    const out = renderTable(['name', 'cidr'], [['default-ipv4-ippool', '192.168.0.0/16'], ['p2', '10.0.0.0/24']]);
    expect(out).toBe(
      'NAME                  CIDR\n' + 'default-ipv4-ippool   192.168.0.0/16\n' + 'p2                    10.0.0.0/24\n',
    );
  });

  it('prints only headers when there are no rows', () => {
    expect(renderTable(['a', 'bb'], [])).toBe('A   BB\n');
  });
});
